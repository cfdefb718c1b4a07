import { modelKey } from '../gpu/GpuManager';

/** What one model version served in a window: each attempt's latency, and how many failed. */
export interface VersionSample {
  /** Latencies of the attempts that succeeded, in ms, in the order they ended. */
  latenciesMs: number[];
  /** Attempts that failed on a worker (not the caller's bad input). */
  errors: number;
  /** Attempts in all. */
  attempts: number;
}

interface Ring {
  at: Float64Array;
  latency: Float64Array;
  ok: Uint8Array;
  next: number;
  size: number;
}

/**
 * The traffic each model version served lately, as the gateway saw it: every attempt on a worker with
 * its latency and outcome, kept in a ring per version (the last `capacity` attempts). Deployment
 * analysis reads the window since a rollout step began, for the new version and for the one it
 * replaces. An attempt that failed on a worker counts against its version even when the gateway then
 * served the request elsewhere: the caller never saw it, the canary's verdict must.
 */
export class VersionTraffic {
  private readonly rings = new Map<string, Ring>();

  constructor(
    private readonly capacity = 20_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one attempt of `name@version`. */
  record(name: string, version: string, latencyMs: number, ok: boolean) {
    const key = modelKey(name, version);
    let ring = this.rings.get(key);
    if (!ring) {
      ring = {
        at: new Float64Array(this.capacity),
        latency: new Float64Array(this.capacity),
        ok: new Uint8Array(this.capacity),
        next: 0,
        size: 0,
      };
      this.rings.set(key, ring);
    }
    // Never earlier than the attempt before: a clock stepped back must not break the time order.
    const previous = ring.size
      ? ring.at[(ring.next - 1 + this.capacity) % this.capacity]
      : 0;
    ring.at[ring.next] = Math.max(this.now(), previous);
    ring.latency[ring.next] = latencyMs;
    ring.ok[ring.next] = ok ? 1 : 0;
    ring.next = (ring.next + 1) % this.capacity;
    ring.size = Math.min(ring.size + 1, this.capacity);
  }

  /**
   * What `name@version` served since `sinceMs` (epoch ms), oldest first. Attempts are recorded in
   * time order, so the first one in the window is found by binary search: the cost is the window's,
   * not the ring's.
   */
  since(name: string, version: string, sinceMs: number): VersionSample {
    const ring = this.rings.get(modelKey(name, version));
    const sample: VersionSample = { latenciesMs: [], errors: 0, attempts: 0 };
    if (!ring) return sample;
    const start = (ring.next - ring.size + this.capacity) % this.capacity;
    const slot = (i: number) => (start + i) % this.capacity;
    let lo = 0;
    let hi = ring.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring.at[slot(mid)] < sinceMs) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ring.size; i++) {
      const j = slot(i);
      sample.attempts += 1;
      if (ring.ok[j]) sample.latenciesMs.push(ring.latency[j]);
      else sample.errors += 1;
    }
    return sample;
  }
}
