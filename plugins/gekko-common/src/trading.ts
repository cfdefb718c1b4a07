/**
 * Trading health: the service-level objectives of the seed, the metric names a trading service
 * exposes, and what the backend answers about a service's health.
 *
 * The metric names are a contract between the trading services (and the simulator that stands in
 * for them here), the generated Prometheus rules and the backend's own judgement: change one, change
 * all three.
 */

/** The metrics a trading service exposes, in the Prometheus exposition format. @public */
export const TRADING_METRICS = {
  /** Histogram, seconds: signal to execution, per order. */
  orderLatency: 'gekko_order_execution_duration_seconds',
  /** Histogram, seconds: the service's API requests. */
  apiLatency: 'gekko_http_request_duration_seconds',
  /** Counter: market-data updates received, label `venue`. */
  marketDataUpdates: 'gekko_market_data_updates_total',
  /** Histogram, seconds: one risk calculation. */
  riskLatency: 'gekko_risk_calculation_duration_seconds',
  /** Histogram, seconds: one inference request (the portal's own gateway exposes it too). */
  inferenceLatency: 'gekko_inference_request_duration_seconds',
  /** Histogram, seconds: one authentication. */
  authLatency: 'gekko_auth_duration_seconds',
  /** Counter: requests handled, label `outcome` (`success` or `error`). */
  requests: 'gekko_requests_total',
  /** Gauge, 1 or 0: the connection to a venue is up; labels `venue`, `protocol`. */
  venueConnected: 'gekko_venue_connected',
  /** Gauge, Unix seconds: the last message from a venue; label `venue`. */
  venueLastMessage: 'gekko_venue_last_message_timestamp_seconds',
  /** Counter, USD: traded notional. */
  tradingVolume: 'gekko_trading_volume_usd_total',
  /** Gauge, USD: profit and loss today. */
  pnl: 'gekko_pnl_usd',
  /** Gauge, 0–1: directional accuracy of the model's last predictions. */
  modelAccuracy: 'gekko_model_accuracy_ratio',
  /** Gauge, USD: open risk exposure. */
  riskExposure: 'gekko_risk_exposure_usd',
  /** Gauge, USD: the limit on the open risk exposure. */
  riskExposureLimit: 'gekko_risk_exposure_limit_usd',
  /** Gauge, bytes: resident memory of the process (node's and prom-client's standard name). */
  residentMemory: 'process_resident_memory_bytes',
  /** Gauge, bytes: the memory the service may use before it is killed. */
  memoryLimit: 'gekko_memory_limit_bytes',
} as const;

/**
 * How an SLO's indicator is measured:
 * - `latency`: a histogram; good events are those at or under the threshold (seconds);
 * - `throughput`: a counter's rate; good time is every minute at or over the threshold (per second);
 * - `availability`: `gekko_requests_total`; good events are those with `outcome="success"`.
 *
 * @public
 */
export type SloKind = 'latency' | 'throughput' | 'availability';

/** One service-level objective. @public */
export interface SloDefinition {
  /** Identifier, as in the `gekko.io/slos` annotation. */
  id: string;
  /** What a person reads, e.g. "Order execution p99 (signal to execution)". */
  title: string;
  kind: SloKind;
  /** The metric of the indicator (histogram base name or counter). */
  metric: string;
  /**
   * Latency: the limit in seconds; throughput: the least rate per second; availability: the
   * objective itself (ratio of good requests).
   */
  threshold: number;
  /**
   * The share of events (latency, availability) or of minutes (throughput) that must be good over
   * the 30-day window: 0.99 for a p99, 0.999 for 99.9 % availability.
   */
  objective: number;
}

/** The seed's objectives, as defaults a service may override in `gekko.io/slos`. @public */
export const DEFAULT_SLOS: Record<string, SloDefinition> = {
  'order-latency': {
    id: 'order-latency',
    title: 'Order execution p99 (signal to execution)',
    kind: 'latency',
    metric: TRADING_METRICS.orderLatency,
    threshold: 0.1,
    objective: 0.99,
  },
  'api-latency': {
    id: 'api-latency',
    title: 'API p99',
    kind: 'latency',
    metric: TRADING_METRICS.apiLatency,
    threshold: 0.05,
    objective: 0.99,
  },
  'market-data-throughput': {
    id: 'market-data-throughput',
    title: 'Market data updates per second',
    kind: 'throughput',
    metric: TRADING_METRICS.marketDataUpdates,
    threshold: 10_000,
    objective: 0.999,
  },
  'risk-latency': {
    id: 'risk-latency',
    title: 'Risk calculation p99',
    kind: 'latency',
    metric: TRADING_METRICS.riskLatency,
    threshold: 0.025,
    objective: 0.99,
  },
  'inference-latency': {
    id: 'inference-latency',
    title: 'Inference p99',
    kind: 'latency',
    metric: TRADING_METRICS.inferenceLatency,
    threshold: 0.05,
    objective: 0.99,
  },
  'auth-latency': {
    id: 'auth-latency',
    title: 'Authentication p99',
    kind: 'latency',
    metric: TRADING_METRICS.authLatency,
    threshold: 0.1,
    objective: 0.99,
  },
  availability: {
    id: 'availability',
    title: 'Availability',
    kind: 'availability',
    metric: TRADING_METRICS.requests,
    threshold: 0.999,
    objective: 0.999,
  },
};

/**
 * Bucket bounds (seconds) of every latency histogram the portal reads: the trading services', the
 * simulator's and the portal's own. Every default SLO limit (25, 50, 100 ms) is one, so the share of
 * good events is read exactly, in the backend and in the generated rules alike.
 *
 * @public
 */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075,
  0.08, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5,
];

/** The error budget's window, in seconds (30 days). @public */
export const SLO_WINDOW_SECONDS = 30 * 24 * 3600;

/**
 * The SRE workbook's multi-window, multi-burn-rate alerts: each fires when the burn rate over both
 * its long and its short window is at or over `burnRate`.
 *
 * @public
 */
export const BURN_RATE_WINDOWS = [
  { severity: 'page', long: '1h', short: '5m', burnRate: 14.4 },
  { severity: 'page', long: '6h', short: '30m', burnRate: 6 },
  { severity: 'ticket', long: '1d', short: '2h', burnRate: 3 },
  { severity: 'ticket', long: '3d', short: '6h', burnRate: 1 },
] as const;

/** A burn-rate window pair. @public */
export type BurnRateWindow = (typeof BURN_RATE_WINDOWS)[number];

/** Seconds in a Prometheus duration such as `5m`, `1h`, `3d`. @public */
export function durationSeconds(duration: string): number {
  const match = /^(\d+)(ms|s|m|h|d|w)$/.exec(duration);
  if (!match) throw new Error(`"${duration}" is not a Prometheus duration`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[
    match[2] as 'ms' | 's' | 'm' | 'h' | 'd' | 'w'
  ];
  return Number(match[1]) * unit;
}

/** Every window an SLO's error ratio is judged over, shortest first: 5m, 30m, 1h, 2h, 6h, 1d, 3d. @public */
export const SLO_WINDOWS: string[] = [
  ...new Set(BURN_RATE_WINDOWS.flatMap(w => [w.short, w.long])),
].sort((a, b) => durationSeconds(a) - durationSeconds(b));

/**
 * Reads the `gekko.io/slos` annotation: a comma-separated list of SLO ids, each optionally with its
 * own target: `order-latency<80ms`, `api-latency<0.04s`, `market-data-throughput>=12000/s`,
 * `availability>=99.95%`. Throws an Error naming the entry and the problem.
 *
 * @public
 */
export function parseSloAnnotation(value: string): SloDefinition[] {
  const entries = value
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new Error('lists no SLO; name at least one, e.g. order-latency');
  }
  const seen = new Set<string>();
  return entries.map(entry => {
    const match =
      /^([a-z0-9-]+)\s*(?:(<|>=)\s*([0-9]*\.?[0-9]+)\s*(ms|s|\/s|%))?$/.exec(
        entry,
      );
    if (!match) {
      throw new Error(
        `"${entry}" is not an SLO: write an id, optionally with a target, e.g. order-latency<80ms or availability>=99.95%`,
      );
    }
    const [, id, op, num, unit] = match;
    const base = DEFAULT_SLOS[id];
    if (!base) {
      throw new Error(
        `"${id}" is not a known SLO; known: ${Object.keys(DEFAULT_SLOS).join(
          ', ',
        )}`,
      );
    }
    if (seen.has(id)) throw new Error(`"${id}" is listed twice`);
    seen.add(id);
    if (!op) return { ...base };
    const n = Number(num);
    if (base.kind === 'latency') {
      if (op !== '<' || (unit !== 'ms' && unit !== 's')) {
        throw new Error(
          `"${entry}": a latency SLO takes a limit such as ${id}<80ms`,
        );
      }
      const seconds = unit === 'ms' ? n / 1000 : n;
      if (!(seconds > 0) || seconds > 3600) {
        throw new Error(
          `"${entry}": the limit must be over 0 and at most an hour`,
        );
      }
      return { ...base, threshold: seconds };
    }
    if (base.kind === 'throughput') {
      if (op !== '>=' || unit !== '/s') {
        throw new Error(
          `"${entry}": a throughput SLO takes a rate such as ${id}>=12000/s`,
        );
      }
      if (!(n > 0)) throw new Error(`"${entry}": the rate must be over 0`);
      return { ...base, threshold: n };
    }
    if (op !== '>=' || unit !== '%') {
      throw new Error(
        `"${entry}": an availability SLO takes a percentage such as ${id}>=99.95%`,
      );
    }
    if (!(n >= 50 && n < 100)) {
      throw new Error(
        `"${entry}": the percentage must be at least 50 and under 100`,
      );
    }
    return { ...base, threshold: n / 100, objective: n / 100 };
  });
}

/** Venues a trading service connects to, as the `gekko.io/venues` annotation names them. @public */
export const VENUES: Record<string, { title: string; protocol: string }> = {
  coinbase: { title: 'Coinbase', protocol: 'WebSocket' },
  'binance-us': { title: 'Binance.US', protocol: 'REST' },
  oanda: { title: 'OANDA', protocol: 'FIX' },
};

/** The state of an SLO, a venue or a whole service. `unknown` is never shown as healthy. @public */
export type HealthState = 'ok' | 'warning' | 'breach' | 'unknown';

const HEALTH_RANK: Record<HealthState, number> = {
  ok: 0,
  unknown: 1,
  warning: 2,
  breach: 3,
};

/** The states, worst first. @public */
export const HEALTH_STATES_WORST_FIRST: HealthState[] = (
  Object.keys(HEALTH_RANK) as HealthState[]
).sort((a, b) => HEALTH_RANK[b] - HEALTH_RANK[a]);

/**
 * The worst of several states (`ok` when there are none); `unknown` outranks `ok`, since it is no
 * proof of health.
 *
 * @public
 */
export function worstHealthState(states: HealthState[]): HealthState {
  return states.reduce<HealthState>(
    (worst, state) => (HEALTH_RANK[state] > HEALTH_RANK[worst] ? state : worst),
    'ok',
  );
}

/** Burn rate of an SLO's error budget over one window. @public */
export interface BurnRate {
  window: string;
  /** 1 spends exactly the budget over 30 days; undefined when the window holds no data. */
  rate?: number;
}

/** One SLO judged now. @public */
export interface SloStatus {
  slo: SloDefinition;
  state: HealthState;
  /** The indicator now: p99 seconds (latency), updates/s (throughput), ratio (availability). */
  current?: number;
  /** Share of the error budget left over the data held (1 = untouched, below 0 = overspent). */
  budgetRemaining?: number;
  burnRates: BurnRate[];
  /** Why the state is what it is, in words. */
  reason: string;
}

/** A venue connection as the service reports it. @public */
export interface VenueStatus {
  venue: string;
  title: string;
  protocol: string;
  connected?: boolean;
  /** Seconds since the last message, when the service says. */
  lastMessageAgeSeconds?: number;
  state: HealthState;
  reason: string;
}

/** Business metrics, where the service exposes them. @public */
export interface BusinessMetrics {
  volumeUsdPerSecond?: number;
  pnlUsd?: number;
  modelAccuracy?: number;
  riskExposureUsd?: number;
  riskExposureLimitUsd?: number;
}

/** Severity of an alert, as the seed's alerting strategy names them. @public */
export type AlertSeverity = 'critical' | 'warning' | 'info';

/** An alert, pending (its `for:` not yet over), firing, or resolved. @public */
export interface TradingAlert {
  id: string;
  entityRef: string;
  rule: string;
  /** What the rule is about: `slo`, `window`, `venue`. */
  labels: Record<string, string>;
  severity: AlertSeverity;
  state: 'pending' | 'firing' | 'resolved';
  summary: string;
  /** ISO time: since when the condition holds. */
  activeAt: string;
  firedAt?: string;
  resolvedAt?: string;
}

/** The health of one trading service. @public */
export interface ServiceHealth {
  entityRef: string;
  state: HealthState;
  /** Where the figures come from. */
  source: 'prometheus' | 'scrape';
  /** ISO time of the newest sample. */
  observedAt?: string;
  slos: SloStatus[];
  venues: VenueStatus[];
  business: BusinessMetrics;
  alerts: TradingAlert[];
  /** What went wrong reading the figures, and what to do about it. */
  errors: string[];
}

/** A trading service in a list or a System's roll-up (`GET /health/services`). @public */
export interface ServiceHealthSummary {
  entityRef: string;
  title?: string;
  /** The ref of its System, e.g. `system:default/gordon-gekko`. */
  system?: string;
  owner?: string;
  state: HealthState;
  slos: Array<{ id: string; title: string; state: HealthState }>;
  /** Alerts firing now (pending ones not counted). */
  firingAlerts: number;
}

/** Which SLO indicator to draw, over what range (at most `3d`), and at what step (at least `5s`). @public */
export interface SloSeriesQuery {
  entityRef: string;
  /** The SLO's id, as in `gekko.io/slos`. */
  slo: string;
  /** A duration such as `1h` or `1d`; the backend's default is `1h`. */
  range?: string;
  /** A duration such as `1m`; by default the backend draws about 120 points. */
  step?: string;
}

/**
 * One SLO's indicator over time, oldest first: p99 seconds (latency), updates per second
 * (throughput) or the good ratio (availability); `null` where there was no data.
 *
 * @public
 */
export interface SloSeries {
  entityRef: string;
  slo: string;
  range: string;
  stepSeconds: number;
  points: Array<{ t: string; value: number | null }>;
}
