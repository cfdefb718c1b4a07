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
  SloStatus,
  TradingAlert,
  VENUES,
  VenueStatus,
  worstHealthState,
} from '@gekko/plugin-gekko-common';
import type { HealthTarget } from '../config/readGekkoConfig';
import { indicatorSeries, indicatorsFromHistory } from './historyIndicators';
import { judgeSlo } from './judgeSlo';
import { MetricFamily, observe } from './observe';
import { PrometheusClient } from './PrometheusClient';
import {
  PrometheusReading,
  readFromPrometheus,
  selectorOf,
  seriesFromPrometheus,
} from './prometheusIndicators';
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
  /** `gekko.io/prometheus-selector`: its series in Prometheus; absent, `{job="<name>"}`. */
  selector?: string;
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
    selector: annotations[GEKKO_ANNOTATIONS.prometheusSelector],
    target,
    problems,
  };
}

/**
 * The trading services' health: which services exist comes from the catalog (Components with
 * `gekko.io/slos`), and every cycle reads each one, either by scraping its metrics (their samples
 * kept for 3 days, judged again on every read) or, when `gekko.prometheus.baseUrl` is set, by
 * asking Prometheus for the same indicators (the last answer kept until the next cycle).
 */
export class TradingHealth {
  private services = new Map<string, TradingService>();
  private readonly scraped = new Map<string, Scraped>();
  private readonly readings = new Map<string, PrometheusReading>();
  private readonly seriesCache = new Map<
    string,
    { at: number; points: Promise<{ t: string; value: number | null }[]> }
  >();
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
      /** When set, every service is judged from Prometheus instead of scraped. */
      prometheus?: PrometheusClient;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Where the figures come from. */
  get source(): ServiceHealth['source'] {
    return this.options.prometheus ? 'prometheus' : 'scrape';
  }

  /** Runs after each cycle (the alert evaluation). */
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

  /**
   * One cycle: refresh the service list (every 30 s), scrape each service or read it from
   * Prometheus, run the listeners.
   */
  async scrapeAll(): Promise<void> {
    const now = this.now();
    if (now - this.lastCatalogRead >= 30_000 || this.services.size === 0) {
      await this.readCatalog();
      this.lastCatalogRead = now;
    }
    const { prometheus } = this.options;
    if (prometheus) {
      for (const ref of this.readings.keys()) {
        if (!this.services.has(ref)) this.readings.delete(ref);
      }
    }
    await Promise.all(
      [...this.services.values()].map(async service => {
        if (!prometheus) return this.scrape(service, now);
        this.readings.set(
          service.entityRef,
          await readFromPrometheus(prometheus, service, now),
        );
        return undefined;
      }),
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

  /** The samples of a service, for the alert evaluator (none when read from Prometheus). */
  historyOf(entityRef: string): Scraped | undefined {
    return this.scraped.get(entityRef);
  }

  /** Judges a service now (from the last cycle's reading when read from Prometheus). */
  health(entityRef: string, alerts: TradingAlert[] = []): ServiceHealth {
    const service = this.service(entityRef);
    const judged = this.options.prometheus
      ? this.judgeFromPrometheus(service)
      : this.judgeFromScrapes(service);
    const states = [
      ...judged.slos.map(s => s.state),
      ...judged.venues.map(v => v.state),
      ...(alerts.some(a => a.state === 'firing' && a.severity === 'critical')
        ? (['breach'] as HealthState[])
        : []),
    ];
    return {
      entityRef,
      state:
        service.problems.length && !judged.slos.length
          ? 'unknown'
          : worstHealthState(states),
      source: this.source,
      observedAt:
        judged.observedAt !== undefined
          ? new Date(judged.observedAt).toISOString()
          : undefined,
      slos: judged.slos,
      venues: judged.venues,
      business: judged.business,
      alerts,
      errors: [...service.problems, ...judged.errors],
    };
  }

  private judgeFromScrapes(service: TradingService): Judged {
    const now = this.now();
    const scraped = this.scraped.get(service.entityRef);
    const errors: string[] = [];
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
    if (!scraped || stale) {
      const reason = scraped?.lastSuccess
        ? `no scrape since ${new Date(scraped.lastSuccess).toISOString()}`
        : 'no scrape yet';
      return {
        observedAt: scraped?.lastSuccess,
        slos: service.slos.map(slo => unknownSlo(slo, reason)),
        venues: service.venues.map(v =>
          judgeVenue(v, {}, now, 'the service has not been scraped recently'),
        ),
        business: {},
        errors,
      };
    }
    const { history } = scraped;
    const volume = history.increase(['volume'], 60_000);
    return {
      observedAt: scraped.lastSuccess,
      slos: service.slos.map(slo =>
        judgeSlo(
          slo,
          indicatorsFromHistory(
            slo,
            history,
            history.lastTime!,
            scraped.lastCounterKeys,
          ),
        ),
      ),
      venues: service.venues.map(v =>
        judgeVenue(
          v,
          {
            connected: history.gauge(`venue:${v}:connected`),
            last: history.gauge(`venue:${v}:last`),
          },
          now,
          `the service exposes no gekko_venue_connected series for ${v}`,
        ),
      ),
      business: {
        volumeUsdPerSecond:
          volume && volume.spanMs > 0
            ? (volume.values[0] * 1000) / volume.spanMs
            : undefined,
        pnlUsd: history.gauge('pnl'),
        modelAccuracy: history.gauge('accuracy'),
        riskExposureUsd: history.gauge('exposure'),
        riskExposureLimitUsd: history.gauge('exposureLimit'),
      },
      errors,
    };
  }

  private judgeFromPrometheus(service: TradingService): Judged {
    const reading = this.readings.get(service.entityRef);
    // A cycle waits for its queries, at most their timeout: older than that, a reading is not now.
    const fresh =
      reading &&
      this.now() - reading.at <=
        3 * this.options.intervalMs + this.options.prometheus!.timeoutMs;
    if (!reading || !fresh) {
      const why = reading
        ? `Prometheus has not been read since ${new Date(
            reading.at,
          ).toISOString()}`
        : 'Not read from Prometheus yet: the first figures come within one interval';
      return {
        slos: service.slos.map(slo => unknownSlo(slo, why)),
        venues: service.venues.map(v => judgeVenue(v, {}, 0, why)),
        business: {},
        errors: [why],
      };
    }
    const cannotRead = reading.errors[0];
    return {
      observedAt: reading.observedAt,
      slos: service.slos.map(slo => {
        const read = reading.slos[slo.id];
        return 'indicators' in read
          ? judgeSlo(slo, read.indicators)
          : unknownSlo(slo, read.reason);
      }),
      venues: service.venues.map(v =>
        judgeVenue(
          v,
          reading.venues[v] ?? {},
          reading.at,
          cannotRead ??
            `no gekko_venue_connected series for ${v} match ${selectorOf(
              service,
            )} in Prometheus`,
        ),
      ),
      business: reading.business,
      errors: reading.errors,
    };
  }

  /** One SLO's indicator over a range, for the charts. */
  async series(
    entityRef: string,
    sloId: string,
    rangeMs: number,
    stepMs: number,
  ): Promise<{ t: string; value: number | null }[]> {
    const service = this.service(entityRef);
    const slo = service.slos.find(s => s.id === sloId);
    if (!slo) {
      throw new NotFoundError(
        `slo: ${entityRef} has no SLO "${sloId}"; it has ${
          service.slos.map(s => s.id).join(', ') || 'none'
        }`,
      );
    }
    const now = this.now();
    const { prometheus } = this.options;
    if (!prometheus) {
      const scraped = this.scraped.get(entityRef);
      if (!scraped) return [];
      return indicatorSeries(
        slo,
        scraped.history,
        now,
        rangeMs,
        stepMs,
        scraped.lastCounterKeys,
      );
    }
    // Charts are read from Prometheus at most once per interval for the same range and step.
    for (const [key, cached] of this.seriesCache) {
      if (now - cached.at >= this.options.intervalMs) {
        this.seriesCache.delete(key);
      }
    }
    const key = `${entityRef}|${sloId}|${rangeMs}|${stepMs}`;
    let cached = this.seriesCache.get(key);
    if (!cached) {
      const end = now;
      const start = end - rangeMs + stepMs;
      const points = seriesFromPrometheus(
        prometheus,
        service,
        slo,
        start,
        end,
        stepMs,
      ).catch(error => {
        // The health of the service says why (the same query fails there); the chart is empty.
        this.options.logger.warn(
          `The ${sloId} series of ${entityRef} could not be read from Prometheus: ${error.message}`,
        );
        const empty: { t: string; value: number | null }[] = [];
        for (let t = start; t <= end; t += stepMs) {
          empty.push({ t: new Date(t).toISOString(), value: null });
        }
        return empty;
      });
      cached = { at: now, points };
      this.seriesCache.set(key, cached);
    }
    return cached.points;
  }
}

/** What one read of a service gives, before the states are rolled up. */
interface Judged {
  /** Epoch ms of the newest sample. */
  observedAt?: number;
  slos: SloStatus[];
  venues: VenueStatus[];
  business: BusinessMetrics;
  errors: string[];
}

function unknownSlo(slo: SloDefinition, reason: string): SloStatus {
  return { slo, state: 'unknown', burnRates: [], reason };
}

/**
 * A venue's state from its connection gauge and the time of its last message (Unix seconds), at
 * `now` (epoch ms); unknown, for `missing`, without a connection gauge.
 */
function judgeVenue(
  venue: string,
  gauges: { connected?: number; last?: number },
  now: number,
  missing: string,
): VenueStatus {
  const { title, protocol } = VENUES[venue];
  const base = { venue, title, protocol };
  const { connected, last } = gauges;
  if (connected === undefined) {
    return { ...base, state: 'unknown', reason: missing };
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
