/**
 * What the backend keeps of one trading service's scrapes, to judge its SLOs over windows from 5
 * minutes to 3 days when no Prometheus is configured.
 *
 * Counters are stored as they would be after Prometheus's reset handling: each sample's value is
 * the running total of increases (a counter that went down was restarted, and its new value is the
 * increase), so the increase over any window is one subtraction.
 */

/** One scrape, reduced to what the judgement needs. */
export interface Observation {
  /** Epoch milliseconds of the scrape. */
  t: number;
  /** Counters by key (`<slo>:good`, `<slo>:total`, `<slo>:le=<bucket>`, `volume`). */
  counters: Record<string, number>;
  /** Gauges by key (`venue:<v>:connected`, `pnl`, `memory`, …). */
  gauges: Record<string, number>;
}

interface Stored {
  t: number;
  /** Reset-adjusted running totals. */
  counters: Record<string, number>;
  gauges: Record<string, number>;
}

/** Keeps the observations of one service for `retentionMs` (3 days by default). */
export class ServiceHistory {
  private readonly samples: Stored[] = [];
  private readonly raw: Record<string, number> = {};

  constructor(private readonly retentionMs = 3 * 24 * 3600_000) {}

  add(observation: Observation): void {
    const last = this.samples[this.samples.length - 1];
    if (last && observation.t <= last.t) return;
    const counters: Record<string, number> = {};
    for (const [key, value] of Object.entries(observation.counters)) {
      const before = this.raw[key];
      const total = last?.counters[key];
      if (before === undefined || total === undefined) {
        counters[key] = value;
      } else {
        counters[key] = total + (value >= before ? value - before : value);
      }
      this.raw[key] = value;
    }
    this.samples.push({
      t: observation.t,
      counters,
      gauges: observation.gauges,
    });
    const cutoff = observation.t - this.retentionMs;
    let drop = 0;
    while (drop < this.samples.length - 2 && this.samples[drop].t < cutoff)
      drop++;
    if (drop) this.samples.splice(0, drop);
  }

  get size(): number {
    return this.samples.length;
  }

  /** The newest observation's time, if any. */
  get lastTime(): number | undefined {
    return this.samples[this.samples.length - 1]?.t;
  }

  /** The oldest observation's time, if any. */
  get firstTime(): number | undefined {
    return this.samples[0]?.t;
  }

  /** The newest value of a gauge. */
  gauge(key: string): number | undefined {
    return this.samples[this.samples.length - 1]?.gauges[key];
  }

  /** The gauges of the newest sample at or before `t`, if any. */
  gaugesAt(t: number): Record<string, number> | undefined {
    return this.samples[this.indexAtOrBefore(t)]?.gauges;
  }

  /** Every value of a gauge over the window ending now, oldest first (for trends and anomalies). */
  gaugeSeries(
    key: string,
    windowMs: number,
    now = this.lastTime ?? 0,
  ): { t: number; value: number }[] {
    const from = now - windowMs;
    const points: { t: number; value: number }[] = [];
    for (let i = this.indexAtOrAfter(from); i < this.samples.length; i++) {
      const s = this.samples[i];
      if (s.t > now) break;
      const value = s.gauges[key];
      if (value !== undefined) points.push({ t: s.t, value });
    }
    return points;
  }

  /**
   * The increase of each counter over the window ending at `end` (default: the newest sample), from
   * the first sample at or after its start. Undefined when fewer than two samples fall in it.
   */
  increase(
    keys: readonly string[],
    windowMs: number,
    end = this.lastTime ?? 0,
  ): { values: number[]; spanMs: number } | undefined {
    const last = this.indexAtOrBefore(end);
    if (last < 0) return undefined;
    const first = this.indexAtOrAfter(end - windowMs);
    if (first >= last) return undefined;
    const a = this.samples[first];
    const b = this.samples[last];
    const values: number[] = [];
    for (const key of keys) {
      if (a.counters[key] === undefined || b.counters[key] === undefined) {
        return undefined;
      }
      values.push(b.counters[key] - a.counters[key]);
    }
    return { values, spanMs: b.t - a.t };
  }

  /**
   * For each pair of consecutive samples in the window: its span and the increases of `keys` (to
   * judge time slices, e.g. the minutes a throughput was under its objective).
   */
  intervals(
    keys: readonly string[],
    windowMs: number,
    end = this.lastTime ?? 0,
  ): { t: number; spanMs: number; values: number[] }[] {
    const last = this.indexAtOrBefore(end);
    const out: { t: number; spanMs: number; values: number[] }[] = [];
    for (
      let i = Math.max(1, this.indexAtOrAfter(end - windowMs) + 1);
      i <= last;
      i++
    ) {
      const a = this.samples[i - 1];
      const b = this.samples[i];
      if (
        keys.some(
          k => a.counters[k] === undefined || b.counters[k] === undefined,
        )
      ) {
        continue;
      }
      out.push({
        t: b.t,
        spanMs: b.t - a.t,
        values: keys.map(k => b.counters[k] - a.counters[k]),
      });
    }
    return out;
  }

  private indexAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.samples.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.samples[mid].t < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexAtOrBefore(t: number): number {
    return this.indexAtOrAfter(t + 1) - 1;
  }
}
