import { benchResults } from '@gekko/worker';

/*
 * Benchmark goals: each figure's goal is defined once, in the benchmark that measures it, and judged
 * there by `verdict()`; the result file carries the verdict, and `npm run bench` only prints it. The
 * helpers are the worker package's (packages/gekko-worker/src/bench/results.ts), shared.
 */
export const { formatNumber, verdict, writeBenchResults } = benchResults;
export type Goal = benchResults.Goal;
export type Verdict = benchResults.Verdict;
