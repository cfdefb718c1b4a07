/** What a closed-loop run measured. */
export interface ClosedLoopResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Calls `call` from `concurrency` callers, each starting its next call when the previous one
 * returns, for `seconds`; requests per second and latency percentiles.
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  call: () => Promise<unknown>,
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    +latencies[
      Math.min(latencies.length - 1, Math.floor(latencies.length * q))
    ].toFixed(3);
  return {
    requests: latencies.length,
    requestsPerSecond: Math.round(
      latencies.length / ((performance.now() - start) / 1000),
    ),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}
