import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes a benchmark's results as `<name>-<time>.json` and `<name>-latest.json` into
 * `$GEKKO_BENCH_OUT` (`npm run bench` sets the repository's .gekko/bench), or ./bench-results.
 */
export function writeBenchResults(
  name: string,
  results: Record<string, unknown> & { time: string },
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
