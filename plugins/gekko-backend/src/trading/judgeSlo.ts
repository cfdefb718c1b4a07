import {
  BURN_RATE_WINDOWS,
  BurnRate,
  HealthState,
  SLO_WINDOWS,
  SloDefinition,
  SloStatus,
} from '@gekko/plugin-gekko-common';

/**
 * The measurements an SLO is judged on, whichever source they come from (the backend's own scrapes
 * or Prometheus). Undefined means "no data", never zero.
 */
export interface SloIndicators {
  /** p99 seconds over 5 min (latency), updates/s over 1 min (throughput), good ratio over 5 min. */
  current?: number;
  /** Error ratio (bad events, or bad minutes for a throughput) per window: `5m`, `1h`, … */
  errorRatios: Record<string, number | undefined>;
  /** Error ratio over the budget's window (30 days, or as much of it as there is data for). */
  budgetErrorRatio?: number;
}

/** A latency at which a warning starts: 80 % of the limit. */
const NEAR = 0.8;

function formatValue(slo: SloDefinition, value: number): string {
  if (slo.kind === 'latency') return `${(value * 1000).toPrecision(3)} ms`;
  if (slo.kind === 'throughput')
    return `${Math.round(value).toLocaleString('en-US')}/s`;
  return `${(value * 100).toFixed(3)} %`;
}

/** Which burn-rate pairs fire now: both windows at or over the pair's burn rate. */
export function firingBurnPairs(
  slo: SloDefinition,
  errorRatios: Record<string, number | undefined>,
) {
  const budget = 1 - slo.objective;
  return BURN_RATE_WINDOWS.filter(w => {
    const long = errorRatios[w.long];
    const short = errorRatios[w.short];
    return (
      long !== undefined &&
      short !== undefined &&
      long > w.burnRate * budget &&
      short > w.burnRate * budget
    );
  });
}

/**
 * Judges one SLO: `breach` when a page burn-rate pair fires, or when a latency or throughput is past
 * its objective now; `warning` when a ticket pair fires, less than a quarter of the budget is left,
 * or the indicator is near its objective (a latency at 80 % of its limit, a throughput within 5 %,
 * availability under its objective over 5 minutes); `unknown` without data; `ok` otherwise.
 */
export function judgeSlo(
  slo: SloDefinition,
  indicators: SloIndicators,
): SloStatus {
  const budget = 1 - slo.objective;
  const burnRates: BurnRate[] = SLO_WINDOWS.map(window => {
    const ratio = indicators.errorRatios[window];
    return { window, rate: ratio === undefined ? undefined : ratio / budget };
  });
  const budgetRemaining =
    indicators.budgetErrorRatio === undefined
      ? undefined
      : 1 - indicators.budgetErrorRatio / budget;
  const { current } = indicators;
  const firing = firingBurnPairs(slo, indicators.errorRatios);
  const page = firing.find(w => w.severity === 'page');
  const ticket = firing.find(w => w.severity === 'ticket');
  const burnText = (w: (typeof firing)[number]) =>
    `the error budget burns ${(
      indicators.errorRatios[w.long]! / budget
    ).toFixed(1)}× over ${w.long} and ${(
      indicators.errorRatios[w.short]! / budget
    ).toFixed(1)}× over ${w.short} (alert at ${w.burnRate}×)`;

  if (current === undefined && burnRates.every(b => b.rate === undefined)) {
    return {
      slo,
      state: 'unknown',
      burnRates,
      budgetRemaining,
      reason: `no data for ${slo.metric}: the service exposes no such series yet, or its scrapes fail`,
    };
  }

  let past = false;
  let near = false;
  let now = '';
  if (current !== undefined) {
    if (slo.kind === 'latency') {
      past = current > slo.threshold;
      near = current >= NEAR * slo.threshold;
      now = `p99 ${formatValue(
        slo,
        current,
      )} over the last 5 min, limit ${formatValue(slo, slo.threshold)}`;
    } else if (slo.kind === 'throughput') {
      past = current < slo.threshold;
      near = current < slo.threshold * 1.05;
      now = `${formatValue(
        slo,
        current,
      )} over the last minute, objective at least ${formatValue(
        slo,
        slo.threshold,
      )}`;
    } else {
      // Five minutes of a quiet service hold few requests: one error there is no breach. The
      // burn-rate pairs judge availability (a page at 14.4× the budget); the 5-minute ratio only
      // warns.
      near = current < slo.objective;
      now = `${formatValue(
        slo,
        current,
      )} good over the last 5 min, objective ${formatValue(
        slo,
        slo.objective,
      )}`;
    }
  }

  let state: HealthState = 'ok';
  const reasons: string[] = [];
  if (past || page) {
    state = 'breach';
    if (past) reasons.push(now);
    if (page) reasons.push(burnText(page));
  } else if (
    ticket ||
    (budgetRemaining !== undefined && budgetRemaining < 0.25) ||
    near
  ) {
    state = 'warning';
    if (now) reasons.push(now);
    if (ticket) reasons.push(burnText(ticket));
    if (budgetRemaining !== undefined && budgetRemaining < 0.25) {
      reasons.push(
        `${Math.max(0, budgetRemaining * 100).toFixed(
          0,
        )} % of the error budget left`,
      );
    }
  } else if (now) {
    reasons.push(now);
  } else {
    reasons.push(
      'no traffic in the last 5 min; the budget burn is within bounds',
    );
  }
  return {
    slo,
    state,
    current,
    budgetRemaining,
    burnRates,
    reason: reasons.join('; '),
  };
}
