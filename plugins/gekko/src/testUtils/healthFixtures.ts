import type {
  ServiceHealth,
  ServiceHealthSummary,
  SloSeries,
} from '@gekko/plugin-gekko-common';
import captured from './capturedHealth.json';

/**
 * Trading health as a real gekko backend answered it (see `_about` in the JSON): the services of
 * the gordon-gekko System healthy, then order-execution in breach (a latency spike and binance-us
 * disconnected), then five minutes after both were cleared.
 */
export const healthyOrderExecution = captured.healthy
  .orderExecution as unknown as ServiceHealth;
export const breachedOrderExecution = captured.breach
  .orderExecution as unknown as ServiceHealth;
export const recoveredOrderExecution = captured.recovered
  .orderExecution as unknown as ServiceHealth;
/** Healthy, with its risk exposure under its limit. */
export const riskEngine = captured.breach
  .riskEngine as unknown as ServiceHealth;
/** Healthy, with P&L and model accuracy. */
export const tradingEngine = captured.breach
  .tradingEngine as unknown as ServiceHealth;
/** Unknown: its metrics endpoint cannot be reached. */
export const unreachableMarketData = captured.breach
  .marketDataOanda as unknown as ServiceHealth;

/** Every series captured: order-latency and availability over 1h and 1d, and two more over 1h. */
export const sloSeries: SloSeries[] = [
  captured.breach.orderLatency1h,
  captured.breach.orderLatency1d,
  captured.breach.availability1h,
  captured.breach.availability1d,
  captured.breach.riskLatency1h,
  captured.breach.marketDataThroughput1h,
] as SloSeries[];

/** The System's roll-up while order-execution is in breach, and while all is well. */
export const rollUpDuringBreach = captured.breach.services
  .items as ServiceHealthSummary[];
export const rollUpHealthy = captured.healthy.services
  .items as ServiceHealthSummary[];

/** The backend's 404 for a Component without `gekko.io/slos`, word for word. */
export const notATradingServiceMessage =
  captured.breach.notATradingService.error.message;

/** Every service's health as the backend had it during the breach. */
export const healthDuringBreach: ServiceHealth[] = [
  breachedOrderExecution,
  riskEngine,
  tradingEngine,
  unreachableMarketData,
];
