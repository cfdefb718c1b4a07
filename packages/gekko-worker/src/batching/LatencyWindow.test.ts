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

  it('reports no percentiles before any request completed', () => {
    expect(new LatencyWindow().stats().latencyMs).toEqual({
      p50: undefined,
      p95: undefined,
      p99: undefined,
    });
  });
});
