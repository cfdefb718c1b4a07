import { AlertSeverity, TradingAlert } from '@gekko/plugin-gekko-common';
import {
  AlertCondition,
  AlertEvaluator,
  AlertTransition,
} from './AlertEvaluator';
import { PrometheusAlert, PrometheusClient } from './PrometheusClient';
import type { TradingHealth, TradingService } from './TradingHealth';

/** The labels that say what an alert is about, in the order the backend's own evaluator writes them. */
const ABOUT = ['slo', 'window', 'venue', 'pool'];
const SEVERITIES: AlertSeverity[] = ['critical', 'warning', 'info'];

/**
 * Alerting when the services are judged from Prometheus: the alerts of the generated rules, as
 * Prometheus evaluates them (`/api/v1/alerts`, matched to a service by their `service` label),
 * recorded as the backend's own evaluator records its alerts: stored, audited, critical ones sent
 * to the owners, and resolved when Prometheus no longer lists them. Prometheus applies the `for:`
 * durations; an alert it lists as pending stays pending here.
 */
export class PrometheusAlerts extends AlertEvaluator {
  private listed: PrometheusAlert[] = [];

  constructor(
    private readonly prometheus: PrometheusClient,
    health: TradingHealth,
    onTransition: (t: AlertTransition) => Promise<void>,
    restored: TradingAlert[] = [],
  ) {
    super(health, onTransition, restored);
  }

  /** Reads Prometheus's alerts, then records what fired and what resolved. Throws if it cannot. */
  async evaluate(now: number): Promise<void> {
    this.listed = await this.prometheus.alerts();
    await super.evaluate(now);
  }

  /** Prometheus's alerts of one service, and those it no longer lists as inactive. */
  conditions(service: TradingService): AlertCondition[] {
    const out = new Map<string, AlertCondition>();
    for (const alert of this.listed) {
      if (alert.labels.service !== service.name) continue;
      const labels: Record<string, string> = {};
      for (const key of ABOUT) {
        if (alert.labels[key] !== undefined) labels[key] = alert.labels[key];
      }
      const rule = alert.labels.alertname;
      const key = `${rule}|${JSON.stringify(labels)}`;
      const firing = alert.state === 'firing' || out.get(key)?.forMs === 0;
      out.set(key, {
        rule,
        labels,
        severity:
          SEVERITIES.find(s => s === alert.labels.severity) ?? 'warning',
        forMs: firing ? 0 : Infinity,
        active: true,
        summary: alert.annotations.summary ?? rule,
      });
    }
    for (const held of this.list(service.entityRef)) {
      const key = `${held.rule}|${JSON.stringify(held.labels)}`;
      if (held.state === 'resolved' || out.has(key)) continue;
      const { rule, labels, severity, summary } = held;
      out.set(key, {
        rule,
        labels,
        severity,
        summary,
        forMs: 0,
        active: false,
      });
    }
    return [...out.values()];
  }
}
