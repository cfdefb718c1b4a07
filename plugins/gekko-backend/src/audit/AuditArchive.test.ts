import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { AuditRecord } from '@gekko/plugin-gekko-common';
import knexFactory, { Knex } from 'knex';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { openGekkoDatabase } from '../database/migrations';
import {
  chainWithCheckpoints,
  newKeyPair,
  rewriteTail,
  signedTrail,
  signingKey,
} from './__testUtils__/signedTrail';
import { AuditArchiveConfig, listSegments } from './AuditArchive';
import { verifyAuditExport } from './verifyAuditExport';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const TWO_HOURS_ON = () => Date.now() + 2 * 3_600_000;
const verifyBin = path.resolve(__dirname, '../../bin/gekko-audit-verify');

function archiveConfig(directory: string, maxRecordsPerFile = 10) {
  return {
    directory,
    olderThanMs: 3_600_000,
    intervalMs: 3_600_000,
    maxRecordsPerFile,
  } satisfies AuditArchiveConfig;
}

/** Checkpoints at 10, 20, 30 and 40, and three records after them. */
const chain = (setup: ReturnType<typeof signedTrail>) =>
  chainWithCheckpoints(setup, 4, 3);

function gzLines(file: string): string[] {
  return gunzipSync(fs.readFileSync(file)).toString('utf8').trim().split('\n');
}

describeEachDatabase(databases)('audit archive on %s', databaseId => {
  let db: Knex;
  let dir: string;

  beforeEach(async () => {
    const knex = await databases.init(databaseId);
    db = await openGekkoDatabase(mockServices.database({ knex }));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-archive-'));
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('moves old records, as whole checkpointed segments, to gzip JSONL files, and verifies across archive and live', async () => {
    const { archive, trail } = await chain(
      signedTrail(db, { archive: archiveConfig(dir) }),
    );
    await expect(archive!.archiveDue()).resolves.toEqual([]);

    const moved = await archive!.archiveDue(TWO_HOURS_ON());
    // The first call signed record 43, so the last segment ends there.
    expect(moved.map(s => [s.fromSeq, s.toSeq])).toEqual([
      [1, 10],
      [11, 20],
      [21, 30],
      [31, 40],
      [41, 43],
    ]);
    expect(fs.readdirSync(dir).sort()).toEqual(moved.map(s => s.file));
    const first = gzLines(path.join(dir, moved[0].file));
    expect(first).toHaveLength(11); // ten records and the checkpoint they end at
    expect(JSON.parse(first[10])).toMatchObject({
      checkpoint: { seq: 10 },
    });

    const live = await db('gekko_audit_records').orderBy('seq');
    expect(live.map(r => Number(r.seq))).toEqual([44, 45, 46, 47, 48]);
    expect(live.map(r => r.action)).toEqual(Array(5).fill('audit.archive'));
    expect(JSON.parse(live[0].details)).toMatchObject({
      fromSeq: 1,
      toSeq: 10,
      records: 10,
      file: moved[0].file,
      sha256: moved[0].sha256,
    });
    await expect(trail.verify()).resolves.toMatchObject({
      valid: true,
      checked: 48,
      archive: { segments: 5, records: 43 },
      checkpoints: { checked: 5, lastSigned: { seq: 43 } },
    });
  });

  it('exports archive and live as one chain that verifies offline with the public key alone', async () => {
    const keys = newKeyPair();
    const { archive, trail, checkpointer } = await chain(
      signedTrail(db, {
        key: signingKey(keys.privateKeyPem),
        archive: archiveConfig(dir),
      }),
    );
    await archive!.archiveDue(TWO_HOURS_ON());
    const signed = await checkpointer.checkpoint();
    const lines: string[] = [];
    for await (const line of trail.exportLines(signed!.seq)) lines.push(line);
    expect(lines.filter(l => l.startsWith('{"checkpoint"'))).toHaveLength(6);
    const { trusted } = signingKey(keys.privateKeyPem);
    await expect(
      verifyAuditExport(Readable.from(lines.map(l => `${l}\n`)), { trusted }),
    ).resolves.toMatchObject({
      valid: true,
      checked: 48,
      checkpoints: { checked: 6, unsignedRecords: 0 },
    });

    // The archive files on their own, with the command-line verifier.
    const publicKeyFile = path.join(dir, '..', `${path.basename(dir)}.pub.pem`);
    fs.writeFileSync(publicKeyFile, keys.publicKeyPem);
    const files = fs
      .readdirSync(dir)
      .sort()
      .map(f => path.join(dir, f));
    const ok = spawnSync(
      process.execPath,
      [verifyBin, '--public-key', publicKeyFile, ...files],
      { encoding: 'utf8' },
    );
    expect(ok.stdout).toContain('chain intact: 43 records');
    expect(ok.status).toBe(0);

    fs.writeFileSync(publicKeyFile, newKeyPair().publicKeyPem);
    const wrongKey = spawnSync(
      process.execPath,
      [verifyBin, '--public-key', publicKeyFile, ...files],
      { encoding: 'utf8' },
    );
    expect(wrongKey.stdout).toContain('which is not a trusted key');
    expect(wrongKey.status).toBe(1);
    fs.rmSync(publicKeyFile);
  });

  it('names the archive file a broken record sits in, and a missing file', async () => {
    const { archive, trail } = await chain(
      signedTrail(db, { archive: archiveConfig(dir) }),
    );
    const moved = await archive!.archiveDue(TWO_HOURS_ON());
    const second = path.join(dir, moved[1].file);
    const original = fs.readFileSync(second);
    const lines = gzLines(second).map(l => JSON.parse(l));
    (lines[4] as AuditRecord).actor = 'user:default/mallory';
    fs.writeFileSync(
      second,
      gzipSync(lines.map(l => `${JSON.stringify(l)}\n`).join('')),
    );
    await expect(trail.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 15,
      segment: moved[1].file,
      reason: expect.stringContaining('its hash does not match its content'),
    });

    fs.writeFileSync(second, original);
    await expect(trail.verify()).resolves.toMatchObject({ valid: true });
    fs.rmSync(second);
    await expect(trail.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 11,
      segment: moved[1].file,
      reason: expect.stringContaining(`which is missing from ${dir}`),
    });
  });

  it('moves nothing that does not verify', async () => {
    const logger = mockServices.logger.mock();
    const { archive } = await chain(
      signedTrail(db, { archive: archiveConfig(dir), logger }),
    );
    await rewriteTail(db, 5);
    await expect(archive!.archiveDue(TWO_HOURS_ON())).rejects.toThrow(
      /records 1–10 were not archived because they do not verify: record 1: the chain was rewritten/,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
    await expect(db('gekko_audit_records').count({ n: '*' })).resolves.toEqual([
      { n: expect.anything() },
    ]);
    expect(
      Number((await db('gekko_audit_records').count({ n: '*' }))[0].n),
    ).toBe(43);
    expect(await listSegments(db)).toEqual([]);
  });
});

describe('audit archive killed midway', () => {
  /** Runs an archival in a child process, frozen and SIGKILLed at the first log line matching `freezeAt`. */
  function runArchival(
    options: Record<string, unknown>,
    freezeAt?: string,
  ): Promise<string> {
    const child = spawn(
      process.execPath,
      [
        '-r',
        require.resolve('@backstage/cli/config/nodeTransform.cjs'),
        path.join(__dirname, '__testUtils__', 'archiveProcess.ts'),
      ],
      {
        env: {
          ...process.env,
          GEKKO_ARCHIVE_PROCESS: JSON.stringify(options),
          ...(freezeAt ? { GEKKO_FREEZE_AT: freezeAt } : {}),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', chunk => {
      stderr += chunk;
    });
    return new Promise((resolve, reject) => {
      readline.createInterface({ input: child.stdout! }).on('line', line => {
        if (line.startsWith('FROZEN ')) {
          child.kill('SIGKILL');
          resolve(line);
        } else if (line === 'DONE') resolve(line);
      });
      child.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL' && code !== 0) {
          reject(new Error(`the archival exited with ${code}: ${stderr}`));
        }
      });
    }).then(
      result =>
        new Promise<string>(resolve => {
          if (child.exitCode !== null || child.signalCode !== null)
            resolve(result as string);
          else child.once('exit', () => resolve(result as string));
        }),
    );
  }

  it.each([
    ['while the file is written', 'Audit archive: writing .*000000000011-'],
    [
      'after the file is on disk, before the database knows',
      'wrote records 11–20',
    ],
    [
      'inside the transaction that deletes the records',
      'deleted 10 records, committing',
    ],
    ['after the first segment committed', 'moved records 1–10 out'],
  ])(
    'loses no record and doubles none when killed %s',
    async (_when, freezeAt) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-archive-kill-'));
      const filename = path.join(dir, 'audit.sqlite');
      const directory = path.join(dir, 'archive');
      const keys = newKeyPair();
      const knex = knexFactory({
        client: 'better-sqlite3',
        connection: { filename },
        useNullAsDefault: true,
      });
      try {
        const db = await openGekkoDatabase(mockServices.database({ knex }));
        const key = signingKey(keys.privateKeyPem);
        const setup = await chain(
          signedTrail(db, { key, archive: archiveConfig(directory) }),
        );
        await setup.checkpointer.checkpoint();
        const options = {
          filename,
          directory,
          privateKeyPem: keys.privateKeyPem,
          maxRecordsPerFile: 10,
        };

        const frozen = await runArchival(options, freezeAt);
        expect(frozen).toMatch(/^FROZEN /);
        // Whatever the kill left, the chain still verifies, with nothing lost or doubled.
        await expect(setup.trail.verify()).resolves.toMatchObject({
          valid: true,
        });

        await expect(runArchival(options)).resolves.toBe('DONE');
        // Segments run on from record 1 without gaps or overlaps, each ending at a checkpoint,
        // up to at least record 43 (later ones: audit.archive records a first run committed).
        const segments = await listSegments(db);
        const checkpoints = new Set((await setup.store.list()).map(c => c.seq));
        segments.forEach((s, i) => {
          expect(s.fromSeq).toBe(i === 0 ? 1 : segments[i - 1].toSeq + 1);
          expect(checkpoints.has(s.toSeq)).toBe(true);
          expect(fs.existsSync(path.join(directory, s.file))).toBe(true);
        });
        expect(segments[segments.length - 1].toSeq).toBeGreaterThanOrEqual(43);
        expect(
          fs.readdirSync(directory).filter(f => f.endsWith('.tmp')),
        ).toEqual([]);
        const head = await db('gekko_audit_head').first();
        const archived = segments[segments.length - 1].toSeq;
        const result = await setup.trail.verify();
        expect(result).toMatchObject({
          valid: true,
          archive: { segments: segments.length, records: archived },
        });
        // Every record from 1 to the head once, and one audit.archive record per segment.
        expect(result.checked).toBe(Number(head.seq));
        const live = await db('gekko_audit_records').orderBy('seq');
        expect(Number(live[0].seq)).toBe(archived + 1);
        // One audit.archive record per segment, wherever it now sits.
        const archivals: number[] = [];
        for await (const line of setup.trail.exportLines()) {
          const record = JSON.parse(line);
          if (record.action === 'audit.archive') {
            archivals.push(record.details.fromSeq);
          }
        }
        expect(archivals).toEqual(segments.map(s => s.fromSeq));
      } finally {
        await knex.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
