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
function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) {
    return undefined;
  }
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * A sliding window of completed requests that yields throughput and latency
 * percentiles (p50/p95/p99) for the heartbeat.
 */
export class LatencyWindow {
  private readonly windowMs: number;
  private readonly maxSamples: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private samples: Array<{ at: number; latencyMs: number; rows: number }> = [];

  constructor(options: LatencyWindowOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxSamples = options.maxSamples ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
  }

  /** Records one completed request. */
  record(latencyMs: number, rows: number) {
    this.samples.push({ at: this.now(), latencyMs, rows });
    if (this.samples.length > this.maxSamples * 2) {
      this.samples = this.samples.slice(-this.maxSamples);
    }
  }

  /** Throughput and percentiles over the window; queue depth is left at 0 for the caller to fill. */
  stats(): WorkloadStats {
    const now = this.now();
    const since = now - this.windowMs;
    this.samples = this.samples
      .filter(sample => sample.at >= since)
      .slice(-this.maxSamples);
    const seconds = Math.max(
      Math.min(this.windowMs, now - this.startedAt) / 1000,
      1e-3,
    );
    const sorted = this.samples.map(s => s.latencyMs).sort((a, b) => a - b);
    const rows = this.samples.reduce((sum, s) => sum + s.rows, 0);
    return {
      queueDepth: 0,
      requestsPerSecond: this.samples.length / seconds,
      rowsPerSecond: rows / seconds,
      latencyMs: {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
      },
    };
  }
}
