import { judgeCanary, TrafficSample } from './judgeCanary';

/** `n` latencies spread evenly around `medianMs` (±10 %), `errors` of them failed. */
function sample(n: number, medianMs: number, errors = 0): TrafficSample {
  return {
    attempts: n,
    errors,
    latenciesMs: Array.from(
      { length: n },
      (_, i) => medianMs * (0.9 + (0.2 * i) / Math.max(1, n - 1)),
    ),
  };
}

const slos = { maxP99Ms: 50, maxErrorRate: 0.001, minSamples: 20 };

describe('judgeCanary', () => {
  it('passes a canary as fast and as reliable as the versions it replaces, score 100', () => {
    const analysis = judgeCanary(sample(200, 2), sample(800, 2), {
      ...slos,
      final: false,
    });
    expect(analysis.verdict).toBe('pass');
    expect(analysis.evidence).toMatchObject({
      score: 100,
      classification: 'pass',
      thresholds: { pass: 100, marginal: 75 },
      canary: { attempts: 200, errors: 0 },
      baseline: { attempts: 800, errors: 0 },
    });
    expect(analysis.measurements.map(m => m.name)).toEqual([
      'error rate',
      'p99 latency',
      'latency against the baseline (median ratio, Mann-Whitney U)',
      'error rate against the baseline (Mann-Whitney U)',
    ]);
  });

  it('fails a significantly and materially slower canary on the comparison, with its statistics', () => {
    const analysis = judgeCanary(sample(60, 11), sample(500, 1), {
      ...slos,
      final: false,
    });
    expect(analysis.verdict).toBe('fail');
    expect(analysis.evidence).toMatchObject({
      score: 50,
      classification: 'fail',
    });
    const comparison = (analysis.evidence as any).comparison;
    expect(comparison.medianRatio).toBeCloseTo(11, 5);
    expect(comparison.pSlower).toBeLessThan(0.01);
    expect(analysis.reason).toMatch(
      /^score 50 is below the marginal 75: latency/,
    );
  });

  it('does not fail a canary that is slower by less than a millisecond: noise, not a regression', () => {
    const analysis = judgeCanary(sample(500, 0.6), sample(500, 0.3), {
      ...slos,
      final: true,
    });
    expect(analysis.verdict).toBe('pass');
  });

  it('fails a canary that breaks an objective whatever its score', () => {
    const analysis = judgeCanary(sample(100, 60), sample(100, 60), {
      ...slos,
      final: false,
    });
    expect(analysis.verdict).toBe('fail');
    expect(analysis.reason).toMatch(/^p99 latency 6\d\.\d{3} is above 50$/);
  });

  it('compares error rates with a rank test on the outcomes: more failures than the baseline fail it', () => {
    // 3 % against 0 %: within a generous objective, but significantly worse than what it replaces.
    const analysis = judgeCanary(sample(400, 2, 12), sample(1600, 2, 0), {
      ...slos,
      maxErrorRate: 0.05,
      final: false,
    });
    const errors = analysis.measurements.find(
      m => m.name === 'error rate against the baseline (Mann-Whitney U)',
    )!;
    expect(errors.passed).toBe(false);
    expect((analysis.evidence as any).comparison.pMoreErrors).toBeLessThan(
      0.01,
    );
    expect(analysis.verdict).toBe('fail');
  });

  it('goes on past a marginal step before the last, and fails a marginal last step', () => {
    const marginal = { ...slos, passScore: 100, marginalScore: 50 };
    const before = judgeCanary(sample(60, 11), sample(500, 1), {
      ...marginal,
      final: false,
    });
    expect(before.verdict).toBe('pass');
    expect(before.evidence).toMatchObject({
      score: 50,
      classification: 'marginal',
    });
    expect(before.reason).toMatch(/^marginal: score 50 is below the pass 100/);

    const last = judgeCanary(sample(60, 11), sample(500, 1), {
      ...marginal,
      final: true,
    });
    expect(last.verdict).toBe('fail');
    expect(last.reason).toMatch(/the last step must pass$/);
  });

  it('judges on the objectives alone while the versions it replaces have no traffic (blue-green)', () => {
    const analysis = judgeCanary(sample(30, 3), sample(0, 0), {
      ...slos,
      final: false,
    });
    expect(analysis.verdict).toBe('pass');
    expect(analysis.measurements).toHaveLength(2);
    expect(analysis.evidence).toMatchObject({ score: 100 });
  });
});
