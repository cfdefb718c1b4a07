import { SloDefinition, TRADING_METRICS } from '@gekko/plugin-gekko-common';
import type { Observation } from './ServiceHistory';

/** A metric family as `parse-prometheus-text-format` gives it. */
export interface MetricFamily {
  name: string;
  help?: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

/** The bucket a latency SLO counts as good: the largest at or under its limit, as the rules do. */
export function goodBucket(
  buckets: readonly number[],
  threshold: number,
): number | undefined {
  let best: number | undefined;
  for (const le of buckets) {
    if (le <= threshold + 1e-12 && (best === undefined || le > best)) best = le;
  }
  return best;
}

const num = (s: string | undefined) => (s === undefined ? NaN : Number(s));

/**
 * Reduces one scrape of a service to the counters and gauges its SLOs, venues and business metrics
 * need. Series of a family are summed (one service may expose several label sets). Families that
 * are missing leave their keys out; the judgement then says the SLO has no data.
 */
export function observe(
  families: MetricFamily[],
  slos: readonly SloDefinition[],
  venues: readonly string[],
  t: number,
): Observation {
  const byName = new Map(families.map(f => [f.name, f]));
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  const sum = (
    name: string,
    keep: (l: Record<string, string>) => boolean = () => true,
  ) => {
    const family = byName.get(name);
    if (!family) return undefined;
    let total = 0;
    let seen = false;
    for (const m of family.metrics) {
      if (!keep(m.labels ?? {})) continue;
      const v = num(m.value);
      if (Number.isFinite(v)) {
        total += v;
        seen = true;
      }
    }
    return seen ? total : undefined;
  };

  for (const slo of slos) {
    if (slo.kind === 'latency') {
      const family = byName.get(slo.metric);
      if (!family || family.type !== 'HISTOGRAM') continue;
      const buckets = new Map<number, number>();
      let count = 0;
      for (const m of family.metrics) {
        count += num(m.count) || 0;
        for (const [le, v] of Object.entries(m.buckets ?? {})) {
          const bound = le === '+Inf' ? Infinity : Number(le);
          buckets.set(bound, (buckets.get(bound) ?? 0) + (num(v) || 0));
        }
      }
      const bounds = [...buckets.keys()].filter(Number.isFinite);
      const good = goodBucket(bounds, slo.threshold);
      counters[`${slo.id}:total`] = count;
      counters[`${slo.id}:good`] = good === undefined ? 0 : buckets.get(good)!;
      for (const [le, v] of buckets) counters[`${slo.id}:le=${le}`] = v;
    } else if (slo.kind === 'availability') {
      const total = sum(slo.metric);
      if (total === undefined) continue;
      counters[`${slo.id}:total`] = total;
      counters[`${slo.id}:good`] =
        total - (sum(slo.metric, l => l.outcome === 'error') ?? 0);
    } else {
      const total = sum(slo.metric);
      if (total !== undefined) counters[`${slo.id}:total`] = total;
    }
  }

  for (const venue of venues) {
    const connected = sum(
      TRADING_METRICS.venueConnected,
      l => l.venue === venue,
    );
    if (connected !== undefined) gauges[`venue:${venue}:connected`] = connected;
    const family = byName.get(TRADING_METRICS.venueLastMessage);
    const last = family?.metrics
      .filter(m => m.labels?.venue === venue)
      .map(m => num(m.value))
      .filter(Number.isFinite);
    if (last?.length) gauges[`venue:${venue}:last`] = Math.max(...last);
  }

  // The portal's own GPU workers, ready ones per pool (for the GPU worker alert).
  for (const m of byName.get('gekko_worker_up')?.metrics ?? []) {
    const pool = m.labels?.pool;
    const up = num(m.value);
    if (!pool || !Number.isFinite(up)) continue;
    gauges[`pool:${pool}:ready`] = (gauges[`pool:${pool}:ready`] ?? 0) + up;
  }

  // The portal's GPUs' memory (DCGM names, MiB), per GPU of each worker, for the memory trend.
  for (const [name, suffix] of [
    ['DCGM_FI_DEV_FB_USED', 'used'],
    ['DCGM_FI_DEV_FB_FREE', 'free'],
  ] as const) {
    for (const m of byName.get(name)?.metrics ?? []) {
      const { pool, worker, gpu } = m.labels ?? {};
      const value = num(m.value);
      if (!pool || !worker || gpu === undefined || !Number.isFinite(value)) {
        continue;
      }
      gauges[`gpu:${pool}|${worker}|${gpu}:${suffix}`] = value;
    }
  }

  const volume = sum(TRADING_METRICS.tradingVolume);
  if (volume !== undefined) counters.volume = volume;
  const gaugeKeys = {
    pnl: TRADING_METRICS.pnl,
    accuracy: TRADING_METRICS.modelAccuracy,
    exposure: TRADING_METRICS.riskExposure,
    exposureLimit: TRADING_METRICS.riskExposureLimit,
    memory: TRADING_METRICS.residentMemory,
    memoryLimit: TRADING_METRICS.memoryLimit,
  };
  for (const [key, name] of Object.entries(gaugeKeys)) {
    const value = sum(name);
    if (value !== undefined) gauges[key] = value;
  }
  return { t, counters, gauges };
}
