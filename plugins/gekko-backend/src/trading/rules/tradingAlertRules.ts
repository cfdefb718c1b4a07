import type { AlertSeverity } from '@gekko/plugin-gekko-common';

/** One alert of the generated Prometheus rules, as data the backend's own evaluator can follow. */
export interface TradingAlertRule {
  /** The alert's name in Prometheus (several entries may share one, with different severities). */
  name: string;
  severity: AlertSeverity;
  /** How long the condition must hold before the alert fires; absent: at the first evaluation. */
  for?: string;
  /** What one alert instance is about: an SLO, a venue of a service, a service, or a GPU pool. */
  scope: 'slo' | 'venue' | 'service' | 'pool';
  /** The number in the condition, in the unit the condition names. */
  threshold?: number;
  /** When it fires, in words. */
  condition: string;
  /** Evaluated by the backend alone: Prometheus has no metric of it, so no rule is generated. */
  backendOnly?: true;
}

/**
 * The alerts `generateSloRules` writes, with their severities and `for:` durations. The generator
 * reads its thresholds and durations from here, so the two cannot drift apart.
 */
export const TRADING_ALERT_RULES = {
  sloBurnPage: {
    name: 'GekkoSloErrorBudgetBurn',
    severity: 'critical',
    scope: 'slo',
    condition:
      'the error ratio over both windows of a page pair of BURN_RATE_WINDOWS (1h/5m, 6h/30m) is over burnRate × (1 − objective); label window="<long>/<short>"',
  },
  sloBurnTicket: {
    name: 'GekkoSloErrorBudgetBurn',
    severity: 'warning',
    scope: 'slo',
    condition:
      'the same for a ticket pair (1d/2h, 3d/6h): the budget runs out early, but not within days',
  },
  venueDisconnected: {
    name: 'GekkoVenueDisconnected',
    severity: 'critical',
    for: '30s',
    scope: 'venue',
    condition: 'gekko_venue_connected of the venue is 0',
  },
  venueSilent: {
    name: 'GekkoVenueSilent',
    severity: 'critical',
    for: '30s',
    scope: 'venue',
    threshold: 30,
    condition:
      'the last message from the venue (gekko_venue_last_message_timestamp_seconds) is more than 30 seconds old',
  },
  riskLimitBreach: {
    name: 'GekkoRiskLimitBreach',
    severity: 'critical',
    scope: 'service',
    condition: 'gekko_risk_exposure_usd is over gekko_risk_exposure_limit_usd',
  },
  riskLimitNear: {
    name: 'GekkoRiskLimitNear',
    severity: 'warning',
    for: '5m',
    scope: 'service',
    threshold: 0.9,
    condition:
      'gekko_risk_exposure_usd is over 0.9 × gekko_risk_exposure_limit_usd, and not over the limit itself',
  },
  memoryExhaustionPredicted: {
    name: 'GekkoMemoryExhaustionPredicted',
    severity: 'warning',
    for: '5m',
    scope: 'service',
    threshold: 3600,
    condition:
      'resident memory, extrapolated linearly from the last 30 minutes, is over gekko_memory_limit_bytes 3600 seconds from now',
  },
  latencyBreachPredicted: {
    name: 'GekkoLatencyBreachPredicted',
    severity: 'warning',
    for: '5m',
    scope: 'slo',
    threshold: 3600,
    condition:
      "a latency SLO's p99 (gekko:sli:p99_rate5m), extrapolated linearly from the last 30 minutes, is over its limit 3600 seconds from now while still under it",
  },
  latencyAnomaly: {
    name: 'GekkoLatencyAnomaly',
    severity: 'warning',
    for: '5m',
    scope: 'slo',
    threshold: 3,
    condition:
      "a latency SLO's p99 (gekko:sli:p99_rate5m) is more than 3 standard deviations over its mean of the hour before the last 10 minutes",
  },
  modelAccuracyDrop: {
    name: 'GekkoModelAccuracyDrop',
    severity: 'warning',
    for: '10m',
    scope: 'service',
    threshold: 0.52,
    condition: 'gekko_model_accuracy_ratio is under 0.52',
  },
  gpuMemoryExhaustionPredicted: {
    name: 'GekkoGpuMemoryExhaustionPredicted',
    severity: 'warning',
    for: '5m',
    scope: 'pool',
    threshold: 3600,
    condition:
      "a GPU's used memory (the portal's DCGM_FI_DEV_FB_USED, MiB), extrapolated linearly from the last 30 minutes, is over its total (used + free) 3600 seconds from now",
  },
  deploymentFinished: {
    name: 'GekkoDeploymentFinished',
    severity: 'info',
    scope: 'service',
    condition:
      'a deployment ended in the last 5 minutes (gekko_deployments_total rose), by outcome; the backend records each one, and each change of a pool or a model version, as an info alert of its entity',
  },
  configurationChanged: {
    name: 'GekkoConfigurationChanged',
    severity: 'info',
    scope: 'service',
    backendOnly: true,
    condition:
      'a GPU pool or a model version of the entity was created, changed, registered, deployed or undeployed (from its audit record; the backend only, Prometheus has no metric of it)',
  },
  gpuWorkerDown: {
    name: 'GekkoGpuWorkerDown',
    severity: 'critical',
    for: '1m',
    scope: 'pool',
    condition:
      "a GPU pool has fewer ready workers (the portal's gekko_worker_up) than 10 minutes ago",
  },
} as const satisfies Record<string, TradingAlertRule>;
