import { LatencyWindow } from './LatencyWindow';

describe('LatencyWindow', () => {
  it('gives nearest-rank percentiles and throughput over the window only', () => {
    let now = 0;
    const window = new LatencyWindow({ windowMs: 10_000, now: () => now });
    for (let i = 1; i <= 100; i++) {
      now = i * 10;
      window.record(i, 2);
    }
    now = 10_000;

    expect(window.stats()).toEqual({
      queueDepth: 0,
      requestsPerSecond: 10,
      rowsPerSecond: 20,
      latencyMs: { p50: 50, p95: 95, p99: 99 },
    });

    now = 10_500;
    // Samples older than 10 s (recorded before t = 500 ms) have left the window.
    expect(window.stats().requestsPerSecond).toBe(5.1);
  });

  it('keeps the newest maxSamples samples, and forgets what left the window for good', () => {
    let now = 0;
    const window = new LatencyWindow({
      windowMs: 1_000,
      maxSamples: 50,
      now: () => now,
    });
    // 120 samples in 600 ms (latency = index): only the last 50 (71 to 120) remain.
    for (let i = 1; i <= 120; i++) {
      now = i * 5;
      window.record(i, 1);
    }
    expect(window.stats().latencyMs).toEqual({ p50: 95, p95: 118, p99: 120 });
    // 50 samples over the 0.6 s the window has existed.
    expect(window.stats().requestsPerSecond).toBeCloseTo(50 / 0.6);

    // Past the window: nothing is left, and a new sample stands alone.
    now = 5_000;
    expect(window.stats().requestsPerSecond).toBe(0);
    window.record(7, 3);
    expect(window.stats()).toMatchObject({
      rowsPerSecond: 3,
      latencyMs: { p50: 7, p95: 7, p99: 7 },
    });
  });

  it('reports no percentiles before any request completed', () => {
    expect(new LatencyWindow().stats().latencyMs).toEqual({
      p50: undefined,
      p95: undefined,
      p99: undefined,
    });
  });
});
