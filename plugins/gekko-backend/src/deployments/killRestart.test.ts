import { TestDatabases } from '@backstage/backend-test-utils';
import { DEPLOYMENT_STATES } from '@gekko/plugin-gekko-common';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { twoModelVersions } from '../bench/twoModelVersions';
import { postgresAnswers } from './__testUtils__/postgresAnswers';
import { KillLoopReport, runKillLoop } from './__testUtils__/runKillLoop';
import type { DeploymentBackendOptions } from './__testUtils__/spawnDeploymentBackend';

jest.setTimeout(300_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });
const withPostgres = postgresAnswers('the kill test on PostgreSQL');

/**
 * Whether a deployment ended as its scenario meant. A canary meant to succeed may still be rolled
 * back by a real analysis verdict on a busy machine; that is an outcome, not a crash's doing.
 */
function endedAsMeant(d: KillLoopReport['deployments'][number]) {
  const reason = d.reason ?? '';
  const analysisFailed = /^Analysis of step \d failed/.test(reason);
  switch (d.kind) {
    case 'canary':
      return (
        d.state === 'succeeded' || (d.state === 'rolled_back' && analysisFailed)
      );
    case 'rollback':
      return (
        d.state === 'rolled_back' &&
        (/^rollback requested by/.test(reason) || analysisFailed)
      );
    case 'failing':
      return (
        d.state === 'rolled_back' &&
        /^Analysis of step 1 failed: p99 latency/.test(reason)
      );
    default:
      return d.state === 'failed' && /the version is registered/.test(reason);
  }
}

/** The phases the kills must have hit (all but pending, which a kill right after a create may miss). */
const PHASES = DEPLOYMENT_STATES.filter(state => state !== 'pending');

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** SIGKILLs a backend at every point of the scenarios; the report says what the next starts made of it. */
async function killAndRestartOn(
  database: DeploymentBackendOptions['database'],
  db: Knex,
): Promise<KillLoopReport> {
  const modelsDir = twoModelVersions();
  try {
    const report = await runKillLoop({
      backend: { database, modelsDir, leaseMs: 1_000 },
      db,
    });
    // eslint-disable-next-line no-console
    console.log(
      [
        `${database.client}: ${report.kills.length} kills, ${report.deployments.length} deployments`,
        ...report.kills.map(
          k => `  ${k.point} → ${k.state} step ${k.step} (${k.kind})`,
        ),
        `  ended: ${report.deployments
          .map(d => `${d.kind} ${d.state}`)
          .join(', ')}`,
        `  steps re-applied: ${report.reapplied}; missed points: ${
          report.missed.join(', ') || 'none'
        }`,
        `  median start ${median(report.startMs).toFixed(
          0,
        )} ms, restart to resumed ${median(report.resumeMs).toFixed(0)} ms`,
      ].join('\n'),
    );
    return report;
  } finally {
    fs.rmSync(modelsDir, { recursive: true, force: true });
  }
}

/** What the tests expect of a kill loop, as one object so that a failure shows every part. */
function survival(report: KillLoopReport) {
  const points = new Set(report.kills.map(k => k.point)).size;
  const afterShift = report.kills.filter(k =>
    k.point.includes('traffic shifted'),
  ).length;
  return {
    kills: report.kills.length >= 20 ? '20 or more' : report.kills.length,
    points: points >= 20 ? '20 or more' : points,
    phases: PHASES.filter(p => report.kills.some(k => k.state === p)),
    stuck: report.stuck,
    doubled: report.doubled,
    wrongWeights: report.wrongWeights,
    // Each kill between a step's traffic change and its transition re-applies that step once.
    reapplied: report.reapplied === afterShift ? 'once per such kill' : report,
    audit: report.audit.valid ? 'intact' : report.audit,
    notAsMeant: report.deployments.filter(d => !endedAsMeant(d)),
  };
}

const survived = {
  kills: '20 or more',
  points: '20 or more',
  phases: PHASES,
  stuck: [],
  doubled: [],
  wrongWeights: [],
  reapplied: 'once per such kill',
  audit: 'intact',
  notAsMeant: [],
};

describe('deployments survive SIGKILL at any point', () => {
  it('on a SQLite file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-kill-'));
    const filename = path.join(dir, 'gekko.sqlite');
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
    });
    try {
      const report = await killAndRestartOn(
        { client: 'better-sqlite3', connection: { filename } },
        db,
      );
      expect(survival(report)).toEqual(survived);
    } finally {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  (withPostgres ? describe : describe.skip)('on PostgreSQL', () => {
    it('as on SQLite', async () => {
      const db = await databases.init('POSTGRES_15');
      const report = await killAndRestartOn(
        {
          client: 'pg',
          connection: db.client.config.connection as Record<string, unknown>,
        },
        db,
      );
      expect(survival(report)).toEqual(survived);
    });
  });
});
