import type {
  AnalysisMeasurement,
  StepAnalysis,
} from '@gekko/plugin-gekko-node';
import {
  cumulativeStdNormalProbability,
  median,
  quantile,
  wilcoxonRankSum,
} from 'simple-statistics';

/** What the gateway saw of one side (the new version, or the versions it replaces) over a step. */
export interface TrafficSample {
  attempts: number;
  errors: number;
  latenciesMs: number[];
}

/** The limits a canary is judged against, and whether the step is the last one. */
export interface CanaryJudgementOptions {
  /** Objectives (hard gates): failing one fails the step whatever the score. */
  maxP99Ms: number;
  maxErrorRate: number;
  minSamples: number;
  /** Score (0–100, share of comparisons passed) at or above which the step passes; default 100. */
  passScore?: number;
  /**
   * Score at or above which, below `passScore`, the step is marginal: a step before the last goes
   * on (recorded as marginal), the last step fails; below it the step fails. Default 75.
   */
  marginalScore?: number;
  final: boolean;
}

/**
 * A canary is worse when it is significantly (p < 0.01) and materially worse than the versions it
 * replaces: its median latency 1.2 times theirs and at least 1 ms more (a sub-millisecond difference
 * between two fast models is noise on a shared machine, not a regression against a 50 ms
 * objective), or its error rate 1.5 times theirs and at least 0.1 percentage point more.
 */
const SIGNIFICANCE = 0.01;
const SLOWER_BY = 1.2;
const SLOWER_BY_MS = 1;
const MORE_ERRORS_BY = 1.5;
const MORE_ERRORS_BY_POINTS = 0.001;
/** Fewer observations than this on either side make no comparison. */
const MIN_COMPARED = 8;

/** Mann-Whitney U of `a` against `b`: its z score (normal approximation) and P(a is not larger). */
function mannWhitney(a: number[], b: number[]) {
  const n1 = a.length;
  const n2 = b.length;
  const u = wilcoxonRankSum(a, b) - (n1 * (n1 + 1)) / 2;
  const sd = Math.sqrt((n1 * n2 * (n1 + n2 + 1)) / 12);
  const z = sd > 0 ? (u - (n1 * n2) / 2) / sd : 0;
  return { u, z, pLarger: 1 - cumulativeStdNormalProbability(z) };
}

/**
 * Mann-Whitney U on outcomes (1 a failed attempt, 0 a served one), from the counts, with the
 * correction for ties that two values need: P(the first side fails more often by chance).
 */
function mannWhitneyOnOutcomes(
  a: { attempts: number; errors: number },
  b: { attempts: number; errors: number },
) {
  const n1 = a.attempts;
  const n2 = b.attempts;
  const n = n1 + n2;
  const ones = a.errors + b.errors;
  const zeros = n - ones;
  // Average ranks: the zeros share ranks 1..zeros, the ones the ranks after them.
  const rankSum =
    (n1 - a.errors) * ((zeros + 1) / 2) + a.errors * (zeros + (ones + 1) / 2);
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const ties = (t: number) => t ** 3 - t;
  const variance =
    ((n1 * n2) / 12) * (n + 1 - (ties(zeros) + ties(ones)) / (n * (n - 1)));
  const z = variance > 0 ? (u - (n1 * n2) / 2) / Math.sqrt(variance) : 0;
  return { u, z, pLarger: 1 - cumulativeStdNormalProbability(z) };
}

const percent = (ratio: number) => `${(ratio * 100).toFixed(2)} %`;

/**
 * Judges a canary after a step, Kayenta-style: the objectives are gates; each comparison with the
 * versions it replaces (latency, errors; Mann-Whitney U) passes or fails, and the share that passed
 * is the score, classified pass, marginal or fail against the deployment's thresholds. Every verdict
 * carries its evidence: values, limits, sample sizes, statistics and score.
 */
export function judgeCanary(
  canary: TrafficSample,
  baseline: TrafficSample,
  options: CanaryJudgementOptions,
): StepAnalysis {
  const passScore = options.passScore ?? 100;
  const marginalScore = options.marginalScore ?? 75;

  const gates: AnalysisMeasurement[] = [];
  const errorRate = canary.attempts ? canary.errors / canary.attempts : 0;
  gates.push({
    name: 'error rate',
    value: errorRate,
    unit: 'ratio',
    threshold: options.maxErrorRate,
    passed: errorRate <= options.maxErrorRate,
  });
  const p99 = canary.latenciesMs.length
    ? quantile(canary.latenciesMs, 0.99)
    : undefined;
  gates.push({
    name: 'p99 latency',
    value: p99 ?? Number.NaN,
    unit: 'ms',
    threshold: options.maxP99Ms,
    // No latency to judge passes only when the deployment asked for no evidence (minSamples 0).
    passed:
      p99 === undefined ? options.minSamples === 0 : p99 <= options.maxP99Ms,
  });

  const comparisons: AnalysisMeasurement[] = [];
  const statistics: Record<string, number> = {};
  const n1 = canary.latenciesMs.length;
  const n2 = baseline.latenciesMs.length;
  if (n1 >= MIN_COMPARED && n2 >= MIN_COMPARED) {
    const test = mannWhitney(canary.latenciesMs, baseline.latenciesMs);
    const canaryMedian = median(canary.latenciesMs);
    const baselineMedian = median(baseline.latenciesMs);
    const ratio = canaryMedian / baselineMedian;
    const slower =
      test.pLarger < SIGNIFICANCE &&
      ratio > SLOWER_BY &&
      canaryMedian - baselineMedian > SLOWER_BY_MS;
    Object.assign(statistics, {
      u: test.u,
      z: test.z,
      pSlower: test.pLarger,
      medianRatio: ratio,
      n1,
      n2,
    });
    comparisons.push({
      name: 'latency against the baseline (median ratio, Mann-Whitney U)',
      value: ratio,
      unit: 'ratio',
      threshold: SLOWER_BY,
      passed: !slower,
    });
  }
  if (canary.attempts >= MIN_COMPARED && baseline.attempts >= MIN_COMPARED) {
    const test = mannWhitneyOnOutcomes(canary, baseline);
    const baselineRate = baseline.errors / baseline.attempts;
    const worse =
      test.pLarger < SIGNIFICANCE &&
      errorRate > baselineRate * MORE_ERRORS_BY &&
      errorRate - baselineRate >= MORE_ERRORS_BY_POINTS;
    Object.assign(statistics, {
      errorsU: test.u,
      errorsZ: test.z,
      pMoreErrors: test.pLarger,
      baselineErrorRate: baselineRate,
    });
    comparisons.push({
      name: 'error rate against the baseline (Mann-Whitney U)',
      value: errorRate,
      unit: 'ratio',
      threshold: Math.max(
        baselineRate * MORE_ERRORS_BY,
        baselineRate + MORE_ERRORS_BY_POINTS,
      ),
      passed: !worse,
    });
  }

  const score = comparisons.length
    ? Math.round(
        (100 * comparisons.filter(m => m.passed).length) / comparisons.length,
      )
    : 100;
  const failedGates = gates.filter(m => !m.passed);
  let classification: 'pass' | 'marginal' | 'fail' = 'fail';
  if (!failedGates.length && score >= passScore) classification = 'pass';
  else if (!failedGates.length && score >= marginalScore) {
    classification = 'marginal';
  }

  const failed = [...gates, ...comparisons].filter(m => !m.passed);
  const describe = (m: AnalysisMeasurement) =>
    m.unit === 'ratio' && /error rate/.test(m.name)
      ? `${m.name} ${percent(m.value)} is above ${percent(m.threshold!)}`
      : `${m.name} ${m.value.toFixed(3)} is above ${m.threshold}`;
  let reason: string | undefined;
  if (classification === 'fail') {
    reason = failedGates.length
      ? failedGates.map(describe).join('; ')
      : `score ${score} is below the marginal ${marginalScore}: ${failed
          .map(describe)
          .join('; ')}`;
  } else if (classification === 'marginal') {
    reason = `marginal: score ${score} is below the pass ${passScore} (${failed
      .map(describe)
      .join('; ')})${
      options.final
        ? '; the last step must pass'
        : '; going on, the last step must pass'
    }`;
  }

  const verdict =
    classification === 'pass' ||
    (classification === 'marginal' && !options.final)
      ? 'pass'
      : 'fail';
  return {
    verdict,
    measurements: [...gates, ...comparisons],
    ...(reason ? { reason } : {}),
    evidence: {
      score,
      classification,
      thresholds: { pass: passScore, marginal: marginalScore },
      canary: {
        attempts: canary.attempts,
        errors: canary.errors,
        p50Ms: n1 ? quantile(canary.latenciesMs, 0.5) : null,
        p99Ms: p99 ?? null,
      },
      baseline: {
        attempts: baseline.attempts,
        errors: baseline.errors,
        p50Ms: n2 ? quantile(baseline.latenciesMs, 0.5) : null,
        p99Ms: n2 ? quantile(baseline.latenciesMs, 0.99) : null,
      },
      ...(Object.keys(statistics).length ? { comparison: statistics } : {}),
    },
  };
}
