import {
  durationSeconds,
  SLO_WINDOW_SECONDS,
  SLO_WINDOWS,
  SloDefinition,
} from '@gekko/plugin-gekko-common';
import type { SloIndicators } from './judgeSlo';
import type { ServiceHistory } from './ServiceHistory';

/**
 * The quantile of a histogram given its cumulative bucket counts, as Prometheus's
 * `histogram_quantile` computes it: linear within the bucket the rank falls in, the largest finite
 * bound when it falls in `+Inf`. Undefined without observations.
 */
export function histogramQuantile(
  q: number,
  buckets: Array<[le: number, count: number]>,
): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted[sorted.length - 1]?.[1];
  if (!total || total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return prevBound;
      if (count === prevCount) return le;
      return (
        prevBound +
        ((le - prevBound) * (rank - prevCount)) / (count - prevCount)
      );
    }
    prevBound = le;
    prevCount = count;
  }
  return prevBound;
}

const MINUTE = 60_000;

/** The indicators of one SLO from the backend's own scrapes of the service. */
export function indicatorsFromHistory(
  slo: SloDefinition,
  history: ServiceHistory,
  now: number,
  lastCounterKeys: readonly string[],
): SloIndicators {
  const windowMs = (w: string) => durationSeconds(w) * 1000;
  const errorRatios: Record<string, number | undefined> = {};
  const budgetMs = SLO_WINDOW_SECONDS * 1000;

  if (slo.kind === 'throughput') {
    const key = `${slo.id}:total`;
    const badShare = (ms: number) => {
      let bad = 0;
      let all = 0;
      for (const i of history.intervals([key], ms, now)) {
        if (i.spanMs <= 0) continue;
        all += i.spanMs;
        if ((i.values[0] * 1000) / i.spanMs < slo.threshold) bad += i.spanMs;
      }
      return all > 0 ? bad / all : undefined;
    };
    for (const w of SLO_WINDOWS) errorRatios[w] = badShare(windowMs(w));
    const last = history.increase([key], MINUTE, now);
    return {
      current:
        last && last.spanMs > 0
          ? (last.values[0] * 1000) / last.spanMs
          : undefined,
      errorRatios,
      budgetErrorRatio: badShare(budgetMs),
    };
  }

  const good = `${slo.id}:good`;
  const total = `${slo.id}:total`;
  const ratio = (ms: number) => {
    const inc = history.increase([good, total], ms, now);
    if (!inc || inc.values[1] <= 0) return undefined;
    return Math.min(1, Math.max(0, 1 - inc.values[0] / inc.values[1]));
  };
  for (const w of SLO_WINDOWS) errorRatios[w] = ratio(windowMs(w));
  const budgetErrorRatio = ratio(budgetMs);

  let current: number | undefined;
  if (slo.kind === 'latency') {
    const prefix = `${slo.id}:le=`;
    const keys = lastCounterKeys.filter(k => k.startsWith(prefix));
    const inc = history.increase(keys, 5 * MINUTE, now);
    if (inc) {
      current = histogramQuantile(
        0.99,
        keys.map((k, i) => [Number(k.slice(prefix.length)), inc.values[i]]),
      );
    }
  } else {
    const bad = ratio(5 * MINUTE);
    current = bad === undefined ? undefined : 1 - bad;
  }
  return { current, errorRatios, budgetErrorRatio };
}

/**
 * The indicator of an SLO over time, one point per `stepMs` ending at `end`, for the charts: the p99
 * of each step (latency), its rate (throughput) or its good ratio (availability).
 */
export function indicatorSeries(
  slo: SloDefinition,
  history: ServiceHistory,
  end: number,
  rangeMs: number,
  stepMs: number,
  lastCounterKeys: readonly string[],
  /** Each point's window (default: its step), e.g. 5 minutes for a p99 as `gekko:sli:p99_rate5m`. */
  windowMs = stepMs,
): { t: string; value: number | null }[] {
  const points: { t: string; value: number | null }[] = [];
  const prefix = `${slo.id}:le=`;
  const leKeys = lastCounterKeys.filter(k => k.startsWith(prefix));
  for (let t = end - rangeMs + stepMs; t <= end; t += stepMs) {
    let value: number | undefined;
    if (slo.kind === 'latency') {
      const inc = history.increase(leKeys, windowMs, t);
      value =
        inc &&
        histogramQuantile(
          0.99,
          leKeys.map((k, i) => [Number(k.slice(prefix.length)), inc.values[i]]),
        );
    } else if (slo.kind === 'throughput') {
      const inc = history.increase([`${slo.id}:total`], windowMs, t);
      value =
        inc && inc.spanMs > 0 ? (inc.values[0] * 1000) / inc.spanMs : undefined;
    } else {
      const inc = history.increase(
        [`${slo.id}:good`, `${slo.id}:total`],
        windowMs,
        t,
      );
      value =
        inc && inc.values[1] > 0 ? inc.values[0] / inc.values[1] : undefined;
    }
    points.push({ t: new Date(t).toISOString(), value: value ?? null });
  }
  return points;
}
