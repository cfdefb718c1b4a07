import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { NotificationService } from '@backstage/plugin-notifications-node';
import {
  ServiceHealth,
  ServiceHealthSummary,
  TradingAlert,
} from '@gekko/plugin-gekko-common';
import { TradingSimulator } from '@gekko/trading-simulator';
import { Knex } from 'knex';
import { Counter, Registry } from 'prom-client';
import { AuditTrail } from '../audit/AuditTrail';
import type { GekkoHealthConfig } from '../config/readGekkoConfig';
import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { AlertEvaluator, AlertTransition } from './AlertEvaluator';
import { AlertStore } from './AlertStore';
import { infoAlertOf } from './infoAlerts';
import { PrometheusAlerts } from './PrometheusAlerts';
import { PrometheusClient } from './PrometheusClient';
import { createTradingRouter } from './router';
import { TradingHealth } from './TradingHealth';

/** What the routes ask of trading health. */
export interface TradingHealthService {
  get(entityRef: string): Promise<ServiceHealth>;
  summaries(system?: string): Promise<ServiceHealthSummary[]>;
  series(
    entityRef: string,
    slo: string,
    rangeMs: number,
    stepMs: number,
  ): Promise<{ t: string; value: number | null }[]>;
  alerts(entityRef?: string, limit?: number): Promise<TradingAlert[]>;
}

/**
 * Trading health: the services the catalog declares, judged against their SLOs from their metrics
 * (scraped by the backend itself, or read from Prometheus when `gekko.prometheus.baseUrl` is set),
 * the alerts evaluated after each cycle (by the backend, or Prometheus's own; recorded, audited,
 * and sent to the owning group when critical), and, on the embedded default, the simulator that
 * stands in for the trading services.
 */
export async function createTradingCapability(options: {
  db: Knex;
  logger: LoggerService;
  auth: AuthService;
  catalog: CatalogService;
  guard: AccessGuard;
  trail: AuditTrail;
  config: GekkoHealthConfig;
  /** This backend's own metrics, for services whose target is `self`. */
  registry: Registry;
  notifications?: NotificationService;
  /** For tests: the clock. */
  now?: () => number;
}) {
  const { config, logger } = options;
  let simulator: TradingSimulator | undefined;
  let simulatorPort: number | undefined;
  if (config.simulator) {
    simulator = new TradingSimulator({ now: options.now });
    simulatorPort = await simulator.listen({
      port: config.simulator.port,
      host: config.simulator.host,
    });
    logger.info(
      `Trading-service simulator on http://${config.simulator.host}:${simulatorPort}/services (inject faults there; see packages/trading-simulator/README.md)`,
    );
  }

  const evaluations = new Counter({
    name: 'gekko_alert_evaluations_total',
    help: 'Alert evaluation cycles of the trading services, by outcome',
    labelNames: ['outcome'],
    registers: [options.registry],
  });
  const transitions = new Counter({
    name: 'gekko_alert_transitions_total',
    help: 'Alerts of the trading services that fired or resolved, by severity and new state',
    labelNames: ['severity', 'state'],
    registers: [options.registry],
  });

  const prometheus = config.prometheusBaseUrl
    ? new PrometheusClient(config.prometheusBaseUrl)
    : undefined;
  if (prometheus) {
    logger.info(
      `Trading health: SLOs judged and alerts read from Prometheus at ${prometheus.baseUrl}`,
    );
  }
  const health = new TradingHealth({
    catalog: options.catalog,
    auth: options.auth,
    logger,
    intervalMs: config.scrapeIntervalMs,
    targets: config.targets,
    selfMetrics: () => options.registry.metrics(),
    simulatorUrl: simulatorPort
      ? name =>
          `http://${
            config.simulator!.host
          }:${simulatorPort}/services/${name}/metrics`
      : undefined,
    prometheus,
    now: options.now,
  });

  const store = new AlertStore(options.db);
  const record = async ({ alert, service }: AlertTransition) => {
    const { labels } = alert;
    // The alert and its audit record commit together, before anyone is told.
    const committed = await options.db.transaction(async trx => {
      await store.save(alert, trx);
      return options.trail.appendWithin(trx, {
        actor: 'plugin:gekko',
        action: `alert.${alert.state}`,
        target: service.entityRef,
        outcome: 'success',
        requestId: null,
        details: {
          alert: alert.id,
          rule: alert.rule,
          severity: alert.severity,
          labels,
          summary: alert.summary,
          activeAt: alert.activeAt,
        },
      });
    });
    options.trail.forward(committed);
    transitions.inc({ severity: alert.severity, state: alert.state });
    if (
      alert.severity === 'critical' &&
      options.notifications &&
      service.owner
    ) {
      await options.notifications
        .send({
          recipients: { type: 'entity', entityRef: service.owner },
          payload: {
            title: `${alert.state === 'firing' ? 'FIRING' : 'Resolved'}: ${
              alert.rule
            } on ${service.title ?? service.name}`,
            description: alert.summary,
            link: `/catalog/default/component/${service.name}/trading-health`,
            severity: alert.state === 'firing' ? 'critical' : 'normal',
            topic: 'gekko-trading-alerts',
            scope: `${service.entityRef}|${alert.rule}|${JSON.stringify(
              labels,
            )}`,
          },
        })
        .catch(error =>
          logger.warn(
            `Could not notify ${service.owner} of alert ${alert.id}: ${error}`,
          ),
        );
    }
  };
  const restored = await store.firing();
  const evaluator = prometheus
    ? new PrometheusAlerts(prometheus, health, record, restored)
    : new AlertEvaluator(health, record, restored);
  health.onCycle(async now => {
    try {
      await evaluator.evaluate(now);
      evaluations.inc({ outcome: 'success' });
    } catch (error) {
      evaluations.inc({ outcome: 'error' });
      logger.warn(`Alert evaluation failed: ${error}`);
    }
  });
  health.start();

  // Info alerts: deployments that end and configuration changes, from their audit records.
  options.trail.onCommitted(committed => {
    const info = infoAlertOf(committed);
    if (!info) return;
    store
      .save(info)
      .catch(error =>
        logger.warn(
          `Could not record the info alert of audit record ${committed.seq}: ${error}`,
        ),
      );
  });

  const alertsOf = async (entityRef?: string, limit = 50) => {
    const live = evaluator.list(entityRef);
    const ids = new Set(live.map(a => a.id));
    const stored = (await store.recent(entityRef, limit)).filter(
      a => !ids.has(a.id),
    );
    return [...live, ...stored].slice(0, limit);
  };

  const service: TradingHealthService = {
    async get(entityRef) {
      return health.health(entityRef, await alertsOf(entityRef, 20));
    },
    async summaries(system) {
      return health
        .list()
        .filter(s => !system || s.system === system)
        .map(s => {
          const h = health.health(s.entityRef, evaluator.list(s.entityRef));
          return {
            entityRef: s.entityRef,
            title: s.title,
            system: s.system,
            owner: s.owner,
            state: h.state,
            slos: h.slos.map(x => ({
              id: x.slo.id,
              title: x.slo.title,
              state: x.state,
            })),
            firingAlerts: h.alerts.filter(a => a.state === 'firing').length,
          };
        });
    },
    series: (entityRef, slo, rangeMs, stepMs) =>
      health.series(entityRef, slo, rangeMs, stepMs),
    alerts: alertsOf,
  };

  const capability: GekkoCapability = {
    router: createTradingRouter({ guard: options.guard, health: service }),
    async stop() {
      await health.stop();
      await simulator?.close();
    },
  };
  return { health, evaluator, simulator, service, ...capability };
}
