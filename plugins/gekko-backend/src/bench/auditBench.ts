/*
 * Audit trail benchmark, run by `npm run bench`. Every figure is a ratio against a baseline measured
 * in the same run on the same SQLite file database, because these machines are noisy.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditCheckpoint, AuditRecordFields } from '@gekko/plugin-gekko-common';
import { CheckpointStore } from '../audit/AuditCheckpoints';
import { AuditEntry, AuditTrail } from '../audit/AuditTrail';
import { AuditRow, chainedRow } from '../audit/auditRows';
import { loadSigningKey } from '../audit/signing';
import crypto, { generateKeyPairSync } from 'node:crypto';
import { openGekkoDatabase } from '../database/migrations';
import { formatNumber, Verdict, verdict, writeBenchResults } from './results';

const APPENDS = Number(process.env.GEKKO_BENCH_APPENDS ?? 20_000);
const VERIFY_ROWS = Number(process.env.GEKKO_BENCH_VERIFY_ROWS ?? 1_000_000);
const CONCURRENCY = 64;
/** With it, verify is measured on PostgreSQL too (a database made and dropped for the run). */
const POSTGRES_URL = process.env.GEKKO_BENCH_POSTGRES_URL;

function entry(i: number): AuditEntry {
  return {
    actor: `user:default/trader-${i % 7}`,
    action: 'pool.update',
    target: `resource:default/pool-${i % 16}`,
    outcome: 'success',
    requestId: `bench-${i}`,
    details: {
      i,
      changed: ['capacity'],
      after: { devices: i % 8, memoryGiB: 80 },
    },
  };
}

async function openFileDb(dir: string, name: string): Promise<Knex> {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, `${name}.sqlite`) },
    useNullAsDefault: true,
  });
  return openGekkoDatabase({ getClient: async () => knex });
}

async function timed<T>(
  fn: () => Promise<T>,
): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

async function inParallel(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<unknown>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await fn(next++);
    }),
  );
}

/** The same rows the trail writes, inserted by plain knex: the baseline. */
function plainRow(i: number) {
  const e = entry(i);
  return {
    seq: i + 1,
    time: new Date().toISOString(),
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    request_id: e.requestId,
    details: JSON.stringify(e.details),
    canonical: JSON.stringify(e),
    prev_hash: '0'.repeat(64),
    hash: '0'.repeat(64),
  };
}

/**
 * Extends the chain to `total` records quickly (setup, not measured): rows with the trail's own
 * canonical JSON and hashes, inserted in batches, and a signed checkpoint every 1000 records, as the
 * backend's checkpointer would leave them.
 */
async function fillChain(
  db: Knex,
  total: number,
  key: ReturnType<typeof loadSigningKey>,
) {
  const head = await db('gekko_audit_head').where({ id: 1 }).first();
  let seq = Number(head.seq);
  let prevHash: string = head.hash;
  const time = new Date().toISOString();
  while (seq < total) {
    const rows: AuditRow[] = [];
    const checkpoints: AuditCheckpoint[] = [];
    for (let k = 0; k < 5000 && seq < total; k++) {
      seq += 1;
      const e = entry(seq);
      const { row, record } = chainedRow(
        {
          seq,
          time,
          actor: e.actor,
          action: e.action,
          target: e.target ?? null,
          outcome: e.outcome,
          requestId: e.requestId ?? null,
          details: e.details as AuditRecordFields['details'],
        },
        prevHash,
      );
      rows.push(row);
      prevHash = record.hash;
      if (seq % 1000 === 0) {
        checkpoints.push(key.sign({ seq, hash: record.hash, time }));
      }
    }
    const batchHead = { seq, hash: prevHash };
    await db.transaction(trx => writeBatch(trx, rows, checkpoints, batchHead));
  }
  await new CheckpointStore(db).insert(key.sign({ seq, hash: prevHash, time }));
}

async function writeBatch(
  trx: Knex.Transaction,
  rows: AuditRow[],
  checkpoints: AuditCheckpoint[],
  head: { seq: number; hash: string },
) {
  for (let i = 0; i < rows.length; i += 80) {
    await trx('gekko_audit_records').insert(rows.slice(i, i + 80));
  }
  for (const checkpoint of checkpoints) {
    await new CheckpointStore(trx).insert(checkpoint);
  }
  await trx('gekko_audit_head').where({ id: 1 }).update(head);
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-bench-'));
  const logger: LoggerService = {
    error: (message, meta) => console.error(message, meta ?? ''),
    warn: (message, meta) => console.warn(message, meta ?? ''),
    info: () => {},
    debug: () => {},
    child: () => logger,
  };
  const results: Record<string, unknown> & {
    time: string;
    verdicts: Verdict[];
  } = {
    benchmark: 'audit-trail',
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    database:
      'SQLite file (better-sqlite3) in WAL mode, as the gekko backend opens it',
    appends: APPENDS,
    verdicts: [],
  };

  // Baseline 1: plain knex inserts, one statement (and commit) per row, 64 callers.
  const plainDb = await openFileDb(dir, 'plain');
  const plain = await timed(() =>
    inParallel(APPENDS, CONCURRENCY, i =>
      plainDb('gekko_audit_records').insert(plainRow(i)),
    ),
  );
  // Baseline 2: the same rows in one transaction, 80 per statement: the ceiling of this database.
  const batchDb = await openFileDb(dir, 'batch');
  const batch = await timed(() =>
    batchDb.transaction(async trx => {
      for (let i = 0; i < APPENDS; i += 80) {
        const rows = Array.from({ length: Math.min(80, APPENDS - i) }, (_, k) =>
          plainRow(i + k),
        );
        await trx('gekko_audit_records').insert(rows);
      }
    }),
  );

  // The audit trail: 64 concurrent callers (as under HTTP load), then one caller at a time.
  const trailDb = await openFileDb(dir, 'trail');
  const trail = new AuditTrail(trailDb, { logger });
  const concurrent = await timed(() =>
    inParallel(APPENDS, CONCURRENCY, i => trail.append(entry(i))),
  );
  const sequentialCount = Math.min(APPENDS, 5000);
  const sequentialPlain = await timed(async () => {
    for (let i = 0; i < sequentialCount; i++)
      await plainDb('gekko_audit_records').insert(plainRow(APPENDS + i));
  });
  const sequential = await timed(async () => {
    for (let i = 0; i < sequentialCount; i++) await trail.append(entry(i));
  });

  const rate = (n: number, s: number) => Math.round(n / s);
  const appends = verdict({
    figure: 'audit appends, 64 callers',
    value: rate(APPENDS, concurrent.seconds),
    unit: '/s',
    baseline: {
      name: 'plain per-row inserts',
      value: rate(APPENDS, plain.seconds),
      unit: '/s',
    },
    ratio: +(plain.seconds / concurrent.seconds).toFixed(2),
    goal: { op: '>=', value: 5000, unit: '/s' },
  });
  results.verdicts.push(appends);
  results.appendsPerSecond = {
    concurrent64: {
      auditTrail: rate(APPENDS, concurrent.seconds),
      plainKnexInsertPerRow: rate(APPENDS, plain.seconds),
      plainKnexBatchedTransaction: rate(APPENDS, batch.seconds),
      ratioVsPlainPerRow: appends.ratio,
      ratioVsBatchedCeiling: +(batch.seconds / concurrent.seconds).toFixed(3),
    },
    sequential: {
      auditTrail: rate(sequentialCount, sequential.seconds),
      plainKnexInsertPerRow: rate(sequentialCount, sequentialPlain.seconds),
      ratioVsPlainPerRow: +(
        sequentialPlain.seconds / sequential.seconds
      ).toFixed(2),
    },
    goal: `${appends.goalText} appends (64 callers) on the SQLite file database`,
    met: appends.goalMet,
  };

  // Verify over VERIFY_ROWS records with signed checkpoints, against reading the same rows without
  // checking them (the columns verify reads, from the same driver; and whole rows through knex, as
  // verify read them before).
  const key = loadSigningKey(
    {
      privateKeyPem: generateKeyPairSync('ed25519').privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string,
      generateIfMissing: false,
      trustedPublicKeys: [],
      checkpointEvery: 1000,
      checkpointIntervalMs: 60_000,
    },
    () => {},
  );
  await fillChain(trailDb, VERIFY_ROWS, key);
  const signedTrail = new AuditTrail(trailDb, {
    logger,
    trusted: key.trusted,
    checkpointPolicy: { every: 1000, intervalMs: 60_000 },
  });
  const verify = await timed(() => signedTrail.verify());
  const conn = await trailDb.client.acquireConnection();
  const read = await timed(async () => {
    const statement = conn
      .prepare(
        'SELECT seq, canonical, prev_hash, hash FROM gekko_audit_records WHERE seq > ? ORDER BY seq LIMIT ?',
      )
      .raw(true);
    let n = 0;
    let after = 0;
    for (;;) {
      const page = statement.all(after, 10_000);
      n += page.length;
      if (page.length < 10_000) return n;
      after = page[page.length - 1][0];
      await new Promise(resolve => setImmediate(resolve));
    }
  });
  await trailDb.client.releaseConnection(conn);
  const readRows = await timed(async () => {
    let n = 0;
    for await (const _ of trail.records()) n++;
    return n;
  });
  const verified = verify.value;
  if (!verified.valid)
    throw new Error(`chain broken in the benchmark: ${verified.reason}`);
  const perMillion = (seconds: number) =>
    +((seconds * 1_000_000) / verified.checked).toFixed(2);
  const verifyVerdict = verdict({
    figure: `audit verify, ${formatNumber(
      verified.checked,
    )} rows and ${formatNumber(verified.checkpoints!.checked)} checkpoints`,
    value: +verify.seconds.toFixed(2),
    unit: 's',
    baseline: {
      name: 'reading the same columns unchecked',
      value: +read.seconds.toFixed(2),
      unit: 's',
    },
    ratio: +(read.seconds / verify.seconds).toFixed(2),
    goal: { op: '<', value: 3, unit: 's' },
    shown: {
      value: `${verify.seconds.toFixed(2)} s (${formatNumber(
        rate(verified.checked, verify.seconds),
      )} rows/s)`,
    },
  });
  results.verdicts.push(verifyVerdict);
  results.verify = {
    rows: verified.checked,
    checkpoints: verified.checkpoints!.checked,
    seconds: +verify.seconds.toFixed(3),
    rowsPerSecond: rate(verified.checked, verify.seconds),
    secondsPer1M: perMillion(verify.seconds),
    baselineReadSameColumnsSeconds: +read.seconds.toFixed(3),
    baselineKnexWholeRowsSeconds: +readRows.seconds.toFixed(3),
    ratioVsReadOnly: verifyVerdict.ratio,
    ratioVsKnexWholeRows: +(readRows.seconds / verify.seconds).toFixed(2),
    goal: `${formatNumber(verified.checked)} rows in ${verifyVerdict.goalText}`,
    met: verifyVerdict.goalMet,
  };

  await Promise.all([plainDb.destroy(), batchDb.destroy(), trailDb.destroy()]);
  fs.rmSync(dir, { recursive: true, force: true });

  if (POSTGRES_URL) {
    results.verifyPostgres = await verifyOnPostgres(POSTGRES_URL, key, logger);
  }

  writeBenchResults('audit', results);
}

/**
 * Verify of the same chain on PostgreSQL, against reading the same columns unchecked through the
 * same driver (pg, rows as arrays). No goal: the figure the issue sets is for the embedded default.
 */
async function verifyOnPostgres(
  url: string,
  key: ReturnType<typeof loadSigningKey>,
  logger: LoggerService,
) {
  const name = `gekko_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: url });
  await admin.raw(`CREATE DATABASE ${name}`);
  const knex = knexFactory({
    client: 'pg',
    connection: `${url.replace(/\/$/, '')}/${name}`,
  });
  try {
    const db = await openGekkoDatabase({ getClient: async () => knex });
    await fillChain(db, VERIFY_ROWS, key);
    const trail = new AuditTrail(db, {
      logger,
      trusted: key.trusted,
      checkpointPolicy: { every: 1000, intervalMs: 60_000 },
    });
    const verify = await timed(() => trail.verify());
    if (!verify.value.valid) {
      throw new Error(`chain broken on PostgreSQL: ${verify.value.reason}`);
    }
    const conn = await knex.client.acquireConnection();
    const read = await timed(async () => {
      let after = 0;
      for (;;) {
        const page = await conn.query({
          text: 'SELECT seq, canonical, prev_hash, hash FROM gekko_audit_records WHERE seq > $1 ORDER BY seq LIMIT 10000',
          values: [after],
          rowMode: 'array',
        });
        if (page.rows.length < 10_000) return;
        after = Number(page.rows[page.rows.length - 1][0]);
      }
    });
    await knex.client.releaseConnection(conn);
    return {
      rows: verify.value.checked,
      seconds: +verify.seconds.toFixed(3),
      baselineReadSameColumnsSeconds: +read.seconds.toFixed(3),
      ratioVsReadOnly: +(read.seconds / verify.seconds).toFixed(2),
    };
  } finally {
    await knex.destroy();
    await admin.raw(`DROP DATABASE IF EXISTS ${name}`);
    await admin.destroy();
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
