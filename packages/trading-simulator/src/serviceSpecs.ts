import { LATENCY_BUCKETS, TRADING_METRICS } from '@gekko/plugin-gekko-common';

/** The shared bucket bounds, in seconds (gekko-common's `LATENCY_BUCKETS`). @public */
export { LATENCY_BUCKETS };

/** What one simulated service exposes, and at what levels when healthy. @public */
export interface SimulatedServiceSpec {
  /** The catalog Component's name; also the path segment of its metrics URL. */
  name: string;
  /** Requests handled (`gekko_requests_total` by outcome). */
  requests?: {
    perSecond: number;
    errorRatio: number;
    /** Each request's duration goes into this histogram: log-normal around the median. */
    latency?: { metric: string; medianSeconds: number; sigma?: number };
  };
  /** Venues the service connects to (keys of `VENUES` in `@gekko/plugin-gekko-common`). */
  venues?: string[];
  /** Market-data updates per second from each of its venues. */
  marketDataPerSecond?: number;
  tradingVolumeUsdPerSecond?: number;
  /** Profit and loss: a random walk with this standard deviation over one second. */
  pnlVolatilityUsd?: number;
  modelAccuracy?: number;
  /** Open exposure drifts around `usd`, under `limitUsd`. */
  riskExposure?: { usd: number; limitUsd: number };
  memory?: { residentBytes: number; limitBytes: number };
}

const MB = 1_000_000;
const GIB = 1024 ** 3;

function marketData(venue: string, perSecond: number): SimulatedServiceSpec {
  return {
    name: `market-data-${venue}`,
    requests: { perSecond: 20, errorRatio: 0.0002 },
    venues: [venue],
    marketDataPerSecond: perSecond,
    memory: { residentBytes: 450 * MB, limitBytes: GIB },
  };
}

function api(
  name: string,
  metric: string,
  medianSeconds: number,
  perSecond: number,
): SimulatedServiceSpec {
  return {
    name,
    requests: {
      perSecond,
      errorRatio: 0.0002,
      latency: { metric, medianSeconds },
    },
    memory: { residentBytes: 200 * MB, limitBytes: GIB },
  };
}

/** The Gordon Gekko trading services, named as their catalog Components. @public */
export const DEFAULT_SERVICES: SimulatedServiceSpec[] = [
  {
    name: 'order-execution',
    requests: {
      perSecond: 40,
      errorRatio: 0.0002,
      latency: { metric: TRADING_METRICS.orderLatency, medianSeconds: 0.035 },
    },
    venues: ['coinbase', 'binance-us', 'oanda'],
    tradingVolumeUsdPerSecond: 25_000,
    memory: { residentBytes: 300 * MB, limitBytes: GIB },
  },
  marketData('coinbase', 14_000),
  marketData('binance-us', 11_500),
  marketData('oanda', 10_800),
  {
    name: 'risk-engine',
    requests: {
      perSecond: 100,
      errorRatio: 0.0002,
      latency: { metric: TRADING_METRICS.riskLatency, medianSeconds: 0.008 },
    },
    riskExposure: { usd: 6_000_000, limitUsd: 10_000_000 },
    memory: { residentBytes: 350 * MB, limitBytes: GIB },
  },
  {
    ...api('trading-engine', TRADING_METRICS.apiLatency, 0.012, 50),
    pnlVolatilityUsd: 500,
    modelAccuracy: 0.58,
    tradingVolumeUsdPerSecond: 25_000,
  },
  api('security-auth', TRADING_METRICS.authLatency, 0.02, 20),
  api('deployment-orchestrator', TRADING_METRICS.apiLatency, 0.015, 5),
  api('monitoring', TRADING_METRICS.apiLatency, 0.01, 10),
];
