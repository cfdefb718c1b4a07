/*
 * Kill benchmark (`gekko-bench kill`): the kill test's loop (killRestart.test.ts) at length, kept
 * beside it because it runs the same test machinery. A gekko backend in a child process drives
 * canaries under live traffic on a SQLite file, and is SIGKILLed 50 times at chosen points of them
 * (every phase, between a step's traffic change and its transition, mid-rollback), each time
 * started again on the same file. It reports how every deployment ended, what a crash could have
 * left behind (stuck, doubled, wrong weights, a broken audit chain), and how soon a restarted
 * backend takes its deployment up, against its plain start.
 */
import knexFactory from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatNumber, verdict, writeBenchResults } from '../../bench/results';
import { twoModelVersions } from '../../bench/twoModelVersions';
import { runKillLoop } from './runKillLoop';

const KILLS = Number(process.env.GEKKO_BENCH_KILLS ?? 50);
const LEASE_MS = 1_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-kill-bench-'));
  const modelsDir = twoModelVersions();
  const filename = path.join(dir, 'gekko.sqlite');
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });
  const started = Date.now();
  const report = await runKillLoop({
    backend: {
      database: { client: 'better-sqlite3', connection: { filename } },
      modelsDir,
      leaseMs: LEASE_MS,
    },
    db,
    kills: KILLS,
    log: line =>
      process.stdout.write(
        `${((Date.now() - started) / 1000).toFixed(1)} s  ${line}\n`,
      ),
  });
  await db.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(modelsDir, { recursive: true, force: true });

  const ended: Record<string, number> = {};
  for (const d of report.deployments)
    ended[d.state] = (ended[d.state] ?? 0) + 1;
  const points = new Set(report.kills.map(k => k.point)).size;
  const start = median(report.startMs);
  const resume = median(report.resumeMs);
  const damage =
    report.stuck.length + report.doubled.length + report.wrongWeights.length;
  const results = {
    benchmark: 'kill',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    database: 'SQLite file',
    leaseMs: LEASE_MS,
    kills: report.kills.length,
    killPoints: points,
    deployments: report.deployments.length,
    ended,
    stuck: report.stuck,
    doubled: report.doubled,
    wrongWeights: report.wrongWeights,
    stepsReapplied: report.reapplied,
    missedPoints: report.missed,
    audit: report.audit,
    medianMs: {
      plainStart: Math.round(start),
      restartToResumed: Math.round(resume),
    },
    killedAt: report.kills,
    verdicts: [
      verdict({
        figure: `SIGKILLs survived (deployments: ${Object.entries(ended)
          .map(([state, n]) => `${n} ${state}`)
          .join(', ')})`,
        value: report.kills.length,
        unit: 'kills',
        measures: {
          points: { value: points, unit: 'points' },
          stuck: { value: report.stuck.length, unit: 'deployments' },
          damaged: { value: damage, unit: 'findings' },
          auditIntact: { value: report.audit.valid ? 1 : 0, unit: 'bool' },
        },
        goal: {
          op: '>=',
          value: KILLS,
          unit: 'kills',
          and: [
            // Every point of a round (22) is met by 20 kills or more.
            {
              of: 'points',
              op: '>=',
              value: Math.min(KILLS, 20),
              unit: 'points',
            },
            { of: 'stuck', op: '==', value: 0, unit: 'deployments' },
            { of: 'damaged', op: '==', value: 0, unit: 'findings' },
            { of: 'auditIntact', op: '==', value: 1, unit: 'bool' },
          ],
        },
        shown: {
          value: `${report.kills.length} kills at ${points} points: ${
            report.stuck.length
          } stuck, ${report.doubled.length} doubled, ${
            report.wrongWeights.length
          } wrong weights, audit ${report.audit.valid ? 'intact' : 'BROKEN'}`,
          baseline: '',
        },
      }),
      verdict({
        figure: 'restart to the deployment taken up again (median)',
        value: Math.round(resume),
        unit: 'ms',
        baseline: {
          name: 'plain start of the backend',
          value: Math.round(start),
          unit: 'ms',
        },
        // Higher is better: 1 when the deployment resumes the moment the backend is up.
        ratio: +(start / resume).toFixed(2),
        // A restarted backend resumes within twice its own start (the lease has expired by then).
        goal: { of: 'ratio', op: '>=', value: 0.5, unit: 'x' },
        shown: {
          value: `${formatNumber(Math.round(resume))} ms`,
          baseline: `plain start ${formatNumber(Math.round(start))} ms → ${(
            start / resume
          ).toFixed(2)}x`,
        },
      }),
    ],
  };
  writeBenchResults('kill', results);
}

main().catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
