import type { SloDefinition } from '@gekko/plugin-gekko-common';

/** What a figure shows when the service does not report it; never a made-up 0. */
export const NOT_REPORTED = 'not reported';

const threeDigits = new Intl.NumberFormat('en-US', {
  maximumSignificantDigits: 3,
});
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const upToThreeDecimals = new Intl.NumberFormat('en-US', {
  maximumFractionDigits: 3,
});

/** Seconds as milliseconds to three significant digits: `427 ms`, `72.7 ms`. */
function formatSecondsAsMs(seconds: number): string {
  return `${threeDigits.format(seconds * 1000)} ms`;
}

/** A share as a percentage, e.g. `99.9 %`, with up to `decimals` decimals. */
function formatShare(ratio: number, decimals: number): string {
  return `${new Intl.NumberFormat('en-US', {
    maximumFractionDigits: decimals,
  }).format(ratio * 100)} %`;
}

/** The percentile a latency SLO is about: `p99` for an objective of 0.99. */
function percentileOf(slo: SloDefinition): string {
  return `p${upToThreeDecimals.format(slo.objective * 100)}`;
}

/** An SLO's target in its unit: `p99 < 100 ms`, `≥ 10,000 updates/s`, `≥ 99.9 %`. */
export function formatObjective(slo: SloDefinition): string {
  switch (slo.kind) {
    case 'latency':
      return `${percentileOf(slo)} < ${formatSecondsAsMs(slo.threshold)}`;
    case 'throughput':
      return `≥ ${whole.format(slo.threshold)} updates/s`;
    default:
      return `≥ ${formatShare(slo.objective, 3)}`;
  }
}

/** An SLO's indicator now, in its unit: `427 ms`, `12,345 updates/s`, `99.983 %`. */
export function formatIndicator(slo: SloDefinition, value?: number): string {
  if (value === undefined) return NOT_REPORTED;
  switch (slo.kind) {
    case 'latency':
      return formatSecondsAsMs(value);
    case 'throughput':
      return `${whole.format(value)} updates/s`;
    default:
      return formatShare(value, 3);
  }
}

/** How a chart draws an SLO: in ms, updates/s or %, with the objective as its line. */
export interface ChartUnit {
  axisLabel: string;
  /** The backend's value (seconds, per second, ratio) in the chart's unit. */
  toChart: (value: number) => number;
  /** The objective in the chart's unit, and its label. */
  objective: number;
  objectiveLabel: string;
  format: (chartValue: number) => string;
}

/** The unit an SLO's chart is drawn in. */
export function chartUnitOf(slo: SloDefinition): ChartUnit {
  switch (slo.kind) {
    case 'latency':
      return {
        axisLabel: `${percentileOf(slo)} (ms)`,
        toChart: seconds => seconds * 1000,
        objective: slo.threshold * 1000,
        objectiveLabel: `limit ${formatSecondsAsMs(slo.threshold)}`,
        format: ms => `${threeDigits.format(ms)} ms`,
      };
    case 'throughput':
      return {
        axisLabel: 'Updates per second',
        toChart: rate => rate,
        objective: slo.threshold,
        objectiveLabel: `objective ${whole.format(slo.threshold)}/s`,
        format: rate => `${whole.format(rate)} updates/s`,
      };
    default:
      return {
        axisLabel: 'Good requests (%)',
        toChart: ratio => ratio * 100,
        objective: slo.objective * 100,
        objectiveLabel: `objective ${formatShare(slo.objective, 3)}`,
        format: percent => `${upToThreeDecimals.format(percent)} %`,
      };
  }
}

/** The error budget left: `99 %`, or `-783 %` once overspent. */
export function formatBudgetRemaining(remaining: number): string {
  return `${whole.format(remaining * 100)} %`;
}

/** A burn rate: `29×`, `8.8×`, `0.17×`. */
export function formatBurnRate(rate: number): string {
  if (rate >= 10) return `${whole.format(rate)}×`;
  if (rate >= 1) return `${rate.toFixed(1)}×`;
  return `${rate.toFixed(2)}×`;
}

/** How long ago a venue's last message came: `0 s ago`, `3 min ago`, `2 h ago`. */
export function formatAge(seconds?: number): string {
  if (seconds === undefined) return NOT_REPORTED;
  if (seconds < 120) return `${Math.round(seconds)} s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

const usd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumFractionDigits: 0,
});
const usdCompact = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  notation: 'compact',
  minimumFractionDigits: 0,
  maximumFractionDigits: 1,
});

/** Dollars, whole: `$25,000`. */
export function formatUsd(value: number): string {
  return usd.format(value);
}

/** Profit and loss with its sign: `+$6,491`, `-$1,200`. */
export function formatPnl(value: number): string {
  return value > 0 ? `+${usd.format(value)}` : usd.format(value);
}

/** Large dollar amounts, short: `$5.8M`. */
export function formatUsdCompact(value: number): string {
  return usdCompact.format(value);
}

/** A ratio as a percentage with one decimal: `57.4 %`. */
export function formatAccuracy(ratio: number): string {
  return formatShare(ratio, 1);
}
