/** Latency percentiles in milliseconds; undefined while the window holds no request. */
export interface LatencyPercentiles {
  p50?: number;
  p95?: number;
  p99?: number;
}

/** What a worker reports about its recent work. */
export interface WorkloadStats {
  /** Requests waiting in batch queues now. */
  queueDepth: number;
  /** Requests completed per second over the window. */
  requestsPerSecond: number;
  /** Rows (predictions) completed per second over the window. */
  rowsPerSecond: number;
  latencyMs: LatencyPercentiles;
}

/** Options of a {@link LatencyWindow}. */
export interface LatencyWindowOptions {
  /** How far back the window reaches; defaults to 60 seconds. */
  windowMs?: number;
  /** Most samples kept, so memory stays bounded under heavy load; defaults to 10,000. */
  maxSamples?: number;
  now?: () => number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number | undefined {
  if (sorted.length === 0) {
    return undefined;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * A sliding window of completed requests that yields throughput and latency
 * percentiles (p50/p95/p99) for the heartbeat.
 *
 * Samples live in typed-array rings of `maxSamples`: recording one allocates nothing. Every request
 * is recorded, on the inference hot path, and a sample object per request kept for a minute would be
 * promoted to the old generation by the thousand every second, for the garbage collector to sweep.
 */
export class LatencyWindow {
  private readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly at: Float64Array;
  private readonly latencyMs: Float64Array;
  private readonly rows: Float64Array;
  /** Where the next sample goes, and how many the ring holds. */
  private next = 0;
  private size = 0;

  constructor(options: LatencyWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxSamples = Math.max(1, options.maxSamples ?? 10_000);
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.at = new Float64Array(this.maxSamples);
    this.latencyMs = new Float64Array(this.maxSamples);
    this.rows = new Float64Array(this.maxSamples);
  }

  /** Records one completed request. */
  record(latencyMs: number, rows: number) {
    const i = this.next;
    this.at[i] = this.now();
    this.latencyMs[i] = latencyMs;
    this.rows[i] = rows;
    this.next = (i + 1) % this.maxSamples;
    if (this.size < this.maxSamples) this.size += 1;
  }

  /** Throughput and percentiles over the window; queue depth is left at 0 for the caller to fill. */
  stats(): WorkloadStats {
    const now = this.now();
    const since = now - this.windowMs;
    // Newest first, back to the window's start: samples are recorded in time order.
    const latencies = new Float64Array(this.size);
    let count = 0;
    let rows = 0;
    for (let k = 1; k <= this.size; k++) {
      const i = (this.next - k + this.maxSamples) % this.maxSamples;
      if (this.at[i] < since) break;
      latencies[count++] = this.latencyMs[i];
      rows += this.rows[i];
    }
    // Older samples never come back into the window.
    this.size = count;
    const seconds = Math.max(
      Math.min(this.windowMs, now - this.startedAt) / 1000,
      1e-3,
    );
    const sorted = latencies.subarray(0, count).sort();
    return {
      queueDepth: 0,
      requestsPerSecond: count / seconds,
      rowsPerSecond: rows / seconds,
      latencyMs: {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
      },
    };
  }
}
