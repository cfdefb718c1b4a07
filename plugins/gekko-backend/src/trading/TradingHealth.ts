import { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import {
  CompoundEntityRef,
  Entity,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import {
  BusinessMetrics,
  GEKKO_ANNOTATIONS,
  HealthState,
  parseSloAnnotation,
  ServiceHealth,
  SloDefinition,
  TradingAlert,
  VenueStatus,
  VENUES,
} from '@gekko/plugin-gekko-common';
import type { HealthTarget } from '../config/readGekkoConfig';
import { indicatorSeries, indicatorsFromHistory } from './historyIndicators';
import { judgeSlo, worstState } from './judgeSlo';
import { MetricFamily, observe } from './observe';
import { parseExposition, scrapeMetrics } from './scrape';
import { TRADING_ALERT_RULES } from './rules/tradingAlertRules';
import { ServiceHistory } from './ServiceHistory';

/** A trading service as the catalog declares it. */
export interface TradingService {
  entityRef: string;
  name: string;
  title?: string;
  /** `spec.system`, as a full ref. */
  system?: string;
  /** `spec.owner`, as a full ref. */
  owner?: string;
  slos: SloDefinition[];
  venues: string[];
  /** Where its metrics are read, or why they cannot be. */
  target: HealthTarget | { type: 'none'; why: string };
  /** Annotation problems, shown on the tab. */
  problems: string[];
}

/** A venue's last message older than this is a lost feed. */
export const VENUE_SILENT_SECONDS = TRADING_ALERT_RULES.venueSilent.threshold;

interface Scraped {
  history: ServiceHistory;
  lastCounterKeys: string[];
  lastSuccess?: number;
  lastError?: string;
}

/** Reads a Component's `gekko.io/*` health annotations; undefined when it declares no SLO. */
export function tradingServiceOf(
  entity: Entity,
  targets: Record<string, HealthTarget>,
): TradingService | undefined {
  const annotations = entity.metadata.annotations ?? {};
  const sloText = annotations[GEKKO_ANNOTATIONS.slos];
  if (sloText === undefined) return undefined;
  const problems: string[] = [];
  let slos: SloDefinition[] = [];
  try {
    slos = parseSloAnnotation(sloText);
  } catch (error) {
    problems.push(`${GEKKO_ANNOTATIONS.slos}: ${(error as Error).message}`);
  }
  const venues = (annotations[GEKKO_ANNOTATIONS.venues] ?? '')
    .split(',')
    .map(v => v.trim())
    .filter(Boolean);
  for (const v of venues) {
    if (!VENUES[v]) {
      problems.push(
        `${
          GEKKO_ANNOTATIONS.venues
        }: "${v}" is not a venue; known: ${Object.keys(VENUES).join(', ')}`,
      );
    }
  }
  const name = entity.metadata.name;
  const url = annotations[GEKKO_ANNOTATIONS.metricsUrl];
  const target: TradingService['target'] =
    targets[name] ??
    (url
      ? { type: 'url', url }
      : {
          type: 'none',
          why: `declares no ${GEKKO_ANNOTATIONS.metricsUrl}: add the URL of its /metrics endpoint, or configure gekko.prometheus.baseUrl`,
        });
  const spec = (entity.spec ?? {}) as { system?: string; owner?: string };
  const ref = (value: string | undefined, kind: string) => {
    if (!value) return undefined;
    try {
      return stringifyEntityRef(
        parseEntityRef(value, {
          defaultKind: kind,
          defaultNamespace: entity.metadata.namespace ?? 'default',
        }),
      );
    } catch {
      return undefined;
    }
  };
  return {
    entityRef: stringifyEntityRef(entity),
    name,
    title: entity.metadata.title,
    system: ref(spec.system, 'system'),
    owner: ref(spec.owner, 'group'),
    slos,
    venues: venues.filter(v => VENUES[v]),
    target,
    problems,
  };
}

/**
 * The trading services' health, judged by the backend from its own scrapes of each service's
 * metrics: which services exist comes from the catalog (Components with `gekko.io/slos`), their
 * samples are kept for 3 days, and every read judges them again.
 */
export class TradingHealth {
  private services = new Map<string, TradingService>();
  private readonly scraped = new Map<string, Scraped>();
  private timer?: ReturnType<typeof setInterval>;
  private cycle?: Promise<void>;
  private lastCatalogRead = 0;
  private catalogError?: string;
  private readonly listeners: Array<(now: number) => Promise<void>> = [];

  constructor(
    private readonly options: {
      catalog: CatalogService;
      auth: AuthService;
      logger: LoggerService;
      intervalMs: number;
      targets: Record<string, HealthTarget>;
      /** This backend's own exposition (target `self`). */
      selfMetrics: () => Promise<string>;
      /** The in-process simulator's metrics URL of a service (target `simulator`). */
      simulatorUrl?: (name: string) => string;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Runs after each scrape cycle (the alert evaluation). */
  onCycle(listener: (now: number) => Promise<void>): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.timer) return;
    const run = () => {
      this.cycle ??= this.scrapeAll()
        .catch(error =>
          this.options.logger.warn(`Trading health cycle failed: ${error}`),
        )
        .finally(() => {
          this.cycle = undefined;
        });
    };
    run();
    this.timer = setInterval(run, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.cycle;
  }

  /** One cycle: refresh the service list (every 30 s), scrape each service, run the listeners. */
  async scrapeAll(): Promise<void> {
    const now = this.now();
    if (now - this.lastCatalogRead >= 30_000 || this.services.size === 0) {
      await this.readCatalog();
      this.lastCatalogRead = now;
    }
    await Promise.all(
      [...this.services.values()].map(service => this.scrape(service, now)),
    );
    for (const listener of this.listeners) await listener(now);
  }

  private async readCatalog(): Promise<void> {
    try {
      const { items } = await this.options.catalog.getEntities(
        {
          filter: {
            kind: 'Component',
            [`metadata.annotations.${GEKKO_ANNOTATIONS.slos}`]:
              CATALOG_FILTER_EXISTS,
          },
        },
        { credentials: await this.options.auth.getOwnServiceCredentials() },
      );
      const next = new Map<string, TradingService>();
      for (const entity of items) {
        const service = tradingServiceOf(entity, this.options.targets);
        if (service) next.set(service.entityRef, service);
      }
      this.services = next;
      this.catalogError = undefined;
    } catch (error) {
      this.catalogError = `The catalog could not be read: ${error}`;
      this.options.logger.warn(this.catalogError);
    }
  }

  private async families(service: TradingService): Promise<MetricFamily[]> {
    const { target } = service;
    const timeoutMs = Math.min(5_000, this.options.intervalMs);
    switch (target.type) {
      case 'self':
        return parseExposition(
          await this.options.selfMetrics(),
          "The portal's own metrics",
        );
      case 'simulator':
        if (!this.options.simulatorUrl) {
          throw new Error(
            `gekko.health.targets.${service.name} is simulator, but gekko.health.simulator is not configured`,
          );
        }
        return scrapeMetrics(
          this.options.simulatorUrl(service.name),
          timeoutMs,
        );
      case 'url':
        return scrapeMetrics(target.url, timeoutMs);
      default:
        throw new Error(`${service.name} ${target.why}`);
    }
  }

  private async scrape(service: TradingService, now: number): Promise<void> {
    let state = this.scraped.get(service.entityRef);
    if (!state) {
      state = { history: new ServiceHistory(), lastCounterKeys: [] };
      this.scraped.set(service.entityRef, state);
    }
    try {
      const families = await this.families(service);
      const observation = observe(families, service.slos, service.venues, now);
      state.history.add(observation);
      state.lastCounterKeys = Object.keys(observation.counters);
      state.lastSuccess = now;
      state.lastError = undefined;
    } catch (error) {
      state.lastError = (error as Error).message;
    }
  }

  /** The services the catalog declares, with their state (for lists and the System roll-up). */
  list(): TradingService[] {
    return [...this.services.values()].sort((a, b) =>
      a.entityRef.localeCompare(b.entityRef),
    );
  }

  /** The service of an entity, or a 404 that says how to make it one. */
  service(ref: CompoundEntityRef | string): TradingService {
    const entityRef = typeof ref === 'string' ? ref : stringifyEntityRef(ref);
    const service = this.services.get(entityRef);
    if (!service) {
      throw new NotFoundError(
        `${entityRef} is not a trading service the portal judges: give the Component a ${
          GEKKO_ANNOTATIONS.slos
        } annotation (e.g. order-latency, availability)${
          this.catalogError ? `. ${this.catalogError}` : ''
        }`,
      );
    }
    return service;
  }

  /** The samples of a service, for the alert evaluator. */
  historyOf(entityRef: string): Scraped | undefined {
    return this.scraped.get(entityRef);
  }

  /** Judges a service now. */
  health(entityRef: string, alerts: TradingAlert[] = []): ServiceHealth {
    const service = this.service(entityRef);
    const now = this.now();
    const scraped = this.scraped.get(entityRef);
    const errors = [...service.problems];
    const stale =
      !scraped?.lastSuccess ||
      now - scraped.lastSuccess > 3 * this.options.intervalMs;
    if (scraped?.lastError) {
      errors.push(
        stale
          ? scraped.lastError
          : `${scraped.lastError} (the figures shown are from ${new Date(
              scraped.lastSuccess!,
            ).toISOString()})`,
      );
    } else if (!scraped) {
      errors.push(
        'Not scraped yet: the first figures come within one interval',
      );
    }

    const slos = service.slos.map(slo => {
      if (!scraped || stale) {
        return {
          slo,
          state: 'unknown' as HealthState,
          burnRates: [],
          reason: scraped?.lastSuccess
            ? `no scrape since ${new Date(scraped.lastSuccess).toISOString()}`
            : 'no scrape yet',
        };
      }
      return judgeSlo(
        slo,
        indicatorsFromHistory(
          slo,
          scraped.history,
          scraped.history.lastTime!,
          scraped.lastCounterKeys,
        ),
      );
    });
    const venues = service.venues.map(v => this.venue(v, scraped, stale, now));
    const business = stale || !scraped ? {} : this.business(scraped);
    const states = [
      ...slos.map(s => s.state),
      ...venues.map(v => v.state),
      ...(alerts.some(a => a.state === 'firing' && a.severity === 'critical')
        ? (['breach'] as HealthState[])
        : []),
    ];
    return {
      entityRef,
      state:
        service.problems.length && !slos.length
          ? 'unknown'
          : worstState(states),
      source: 'scrape',
      observedAt:
        scraped?.lastSuccess !== undefined
          ? new Date(scraped.lastSuccess).toISOString()
          : undefined,
      slos,
      venues,
      business,
      alerts,
      errors,
    };
  }

  private venue(
    venue: string,
    scraped: Scraped | undefined,
    stale: boolean,
    now: number,
  ): VenueStatus {
    const { title, protocol } = VENUES[venue];
    const base = { venue, title, protocol };
    const connected = scraped?.history.gauge(`venue:${venue}:connected`);
    const last = scraped?.history.gauge(`venue:${venue}:last`);
    if (stale || connected === undefined) {
      return {
        ...base,
        state: 'unknown',
        reason: stale
          ? 'the service has not been scraped recently'
          : `the service exposes no gekko_venue_connected series for ${venue}`,
      };
    }
    const age = last === undefined ? undefined : Math.max(0, now / 1000 - last);
    if (connected < 1) {
      return {
        ...base,
        connected: false,
        lastMessageAgeSeconds: age,
        state: 'breach',
        reason: `disconnected from ${title} (${protocol})`,
      };
    }
    if (age !== undefined && age > VENUE_SILENT_SECONDS) {
      return {
        ...base,
        connected: true,
        lastMessageAgeSeconds: age,
        state: 'breach',
        reason: `connected, but no message for ${Math.round(
          age,
        )} s (limit ${VENUE_SILENT_SECONDS} s)`,
      };
    }
    return {
      ...base,
      connected: true,
      lastMessageAgeSeconds: age,
      state: age !== undefined && age > 5 ? 'warning' : 'ok',
      reason:
        age === undefined
          ? 'connected'
          : `connected, last message ${age.toFixed(1)} s ago`,
    };
  }

  private business(scraped: Scraped): BusinessMetrics {
    const { history } = scraped;
    const volume = history.increase(['volume'], 60_000);
    return {
      volumeUsdPerSecond:
        volume && volume.spanMs > 0
          ? (volume.values[0] * 1000) / volume.spanMs
          : undefined,
      pnlUsd: history.gauge('pnl'),
      modelAccuracy: history.gauge('accuracy'),
      riskExposureUsd: history.gauge('exposure'),
      riskExposureLimitUsd: history.gauge('exposureLimit'),
    };
  }

  /** One SLO's indicator over a range, for the charts. */
  series(
    entityRef: string,
    sloId: string,
    rangeMs: number,
    stepMs: number,
  ): { t: string; value: number | null }[] {
    const service = this.service(entityRef);
    const slo = service.slos.find(s => s.id === sloId);
    if (!slo) {
      throw new NotFoundError(
        `slo: ${entityRef} has no SLO "${sloId}"; it has ${
          service.slos.map(s => s.id).join(', ') || 'none'
        }`,
      );
    }
    const scraped = this.scraped.get(entityRef);
    if (!scraped) return [];
    return indicatorSeries(
      slo,
      scraped.history,
      this.now(),
      rangeMs,
      stepMs,
      scraped.lastCounterKeys,
    );
  }
}
