import fs from 'node:fs';
import path from 'node:path';

/*
 * Benchmark goals: each figure's goal is defined once, in the benchmark that measures it, and judged
 * there by `verdict()`; the result file carries the verdict (`verdicts`), and `npm run bench`
 * (scripts/portal.mjs) only prints them. The gekko backend's benchmarks use these too, through
 * `benchResults` in this package's index.
 */

/** How a measure compares with its goal's value. */
export type GoalOp = '<' | '<=' | '>=' | '>' | '==';

/** A threshold on one measure of a figure; every one of `and` must hold too. */
export interface Goal {
  /**
   * The measure judged: omitted for the figure's own value, `ratio` for its ratio against the
   * baseline, else a key of the verdict's `measures`.
   */
  of?: string;
  op: GoalOp;
  value: number;
  unit: string;
  and?: Goal[];
}

/** A figure and its unit. */
export interface Measure {
  value: number;
  unit: string;
}

/** One measured figure, its same-run baseline and its goal, judged. */
export interface Verdict {
  /** What was measured, as the summary of `npm run bench` names it. */
  figure: string;
  value: number;
  unit: string;
  /** Further measures of the figure that a goal judges (p99 next to requests/s); null: not measured. */
  measures?: Record<string, { value: number | null; unit: string }>;
  /** The baseline measured in the same run, and `ratio`: the figure against it (higher is better). */
  baseline?: Measure & { name: string };
  ratio?: number;
  goal: Goal;
  /** The goal in words, e.g. `>= 5,000 req/s, p99 < 5 ms`. */
  goalText: string;
  goalMet: boolean;
  /** The summary's text for the figure and for its baseline(s). */
  shown: { value: string; baseline: string };
}

const compare: Record<GoalOp, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
  '==': (a, b) => a === b,
};

/** `5,000`: how the summary writes numbers. */
export const formatNumber = (n: number) => n.toLocaleString('en-US');

function conditions(goal: Goal): Goal[] {
  return [goal, ...(goal.and ?? []).flatMap(conditions)];
}

function conditionText(goal: Goal): string {
  const op = goal.op === '==' ? '=' : goal.op;
  const unit = goal.unit === 'x' ? 'x' : ` ${goal.unit}`;
  const what = goal.of && goal.of !== 'ratio' ? `${goal.of} ` : '';
  return `${what}${op} ${formatNumber(goal.value)}${unit}`.trimEnd();
}

/** A figure not measured in this run (say, no NATS server), with the goal it would be judged by. */
export interface SkippedFigure {
  figure: string;
  goal: Goal;
  goalText: string;
  skipped: string;
}

/** The result-file entry of a figure that was not measured, and why. */
export function skippedFigure(
  figure: string,
  goal: Goal,
  why: string,
): SkippedFigure {
  return {
    figure,
    goal,
    goalText: conditions(goal).map(conditionText).join(', '),
    skipped: why,
  };
}

/** Judges a figure against its goal (every condition must hold; a missing measure fails it). */
export function verdict(figure: {
  figure: string;
  value: number;
  unit: string;
  measures?: Verdict['measures'];
  baseline?: Measure & { name: string };
  ratio?: number;
  goal: Goal;
  /** Overrides of the summary's text, by default `<value> <unit>` and `<baseline> → <ratio>x`. */
  shown?: { value?: string; baseline?: string };
}): Verdict {
  const measureOf = (goal: Goal) => {
    if (!goal.of) return figure.value;
    if (goal.of === 'ratio') return figure.ratio;
    return figure.measures?.[goal.of]?.value;
  };
  const all = conditions(figure.goal);
  const { shown, ...measured } = figure;
  const { baseline, ratio } = figure;
  return {
    ...measured,
    goalText: all.map(conditionText).join(', '),
    goalMet: all.every(goal => {
      const value = measureOf(goal);
      return (
        typeof value === 'number' &&
        Number.isFinite(value) &&
        compare[goal.op](value, goal.value)
      );
    }),
    shown: {
      value: shown?.value ?? `${formatNumber(figure.value)} ${figure.unit}`,
      baseline:
        shown?.baseline ??
        (baseline
          ? `${baseline.name} ${formatNumber(baseline.value)} ${baseline.unit}${
              ratio === undefined ? '' : ` → ${ratio}x`
            }`
          : ''),
    },
  };
}

/**
 * Writes a benchmark's results as `<name>-<time>.json` and `<name>-latest.json` into
 * `$GEKKO_BENCH_OUT` (`npm run bench` sets the repository's .gekko/bench), or ./bench-results;
 * `verdicts` are the judged goals that `npm run bench` prints as its summary.
 */
export function writeBenchResults(
  name: string,
  results: Record<string, unknown> & {
    time: string;
    verdicts: Array<Verdict | SkippedFigure>;
  },
): string {
  const outDir = path.resolve(process.env.GEKKO_BENCH_OUT ?? 'bench-results');
  fs.mkdirSync(outDir, { recursive: true });
  const outFile = path.join(
    outDir,
    `${name}-${results.time}.json`.replace(/:/g, '-'),
  );
  fs.writeFileSync(outFile, `${JSON.stringify(results, null, 2)}\n`);
  fs.copyFileSync(outFile, path.join(outDir, `${name}-latest.json`));
  process.stdout.write(
    `${JSON.stringify(results, null, 2)}\nwritten to ${outFile}\n`,
  );
  return outFile;
}
