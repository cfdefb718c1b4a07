import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { canonicalAuditRecord } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { openGekkoDatabase } from '../database/migrations';
import { entry } from './__testUtils__/signedTrail';
import { AuditTrail } from './AuditTrail';
import { chainHash } from './ChainVerifier';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

async function setUp(databaseId: Parameters<typeof databases.init>[0]) {
  const knex = await databases.init(databaseId);
  const db = await openGekkoDatabase(mockServices.database({ knex }));
  const audit = new AuditTrail(db, { logger: mockServices.logger.mock() });
  return { db, audit };
}

async function appendMany(audit: AuditTrail, count: number) {
  for (let i = 1; i <= count; i++) await audit.append(entry(i));
}

describeEachDatabase(databases)('AuditTrail on %s', databaseId => {
  let db: Knex;
  let audit: AuditTrail;

  beforeEach(async () => {
    ({ db, audit } = await setUp(databaseId));
  });

  it('chains records from the genesis hash and verifies them', async () => {
    const first = await audit.append(entry(1));
    const second = await audit.append(entry(2));
    expect(first.seq).toBe(1);
    expect(first.prevHash).toBe('0'.repeat(64));
    expect(second.prevHash).toBe(first.hash);
    await expect(audit.verify()).resolves.toEqual({
      valid: true,
      checked: 2,
      headHash: second.hash,
      firstBrokenSeq: null,
      reason: null,
      checkpoints: {
        enabled: false,
        checked: 0,
        lastSigned: null,
        unsignedRecords: 2,
      },
      archive: { segments: 0, records: 0 },
    });
  });

  it('keeps a gap-free sequence and a valid chain under 16 concurrent writers', async () => {
    // Two trails on one database stand for two backend instances.
    const other = new AuditTrail(db, { logger: mockServices.logger.mock() });
    const writers = Array.from({ length: 16 }, (_, w) =>
      (async () => {
        const trail = w % 2 ? other : audit;
        for (let i = 0; i < 20; i++) await trail.append(entry(w * 100 + i));
      })(),
    );
    await Promise.all(writers);
    const seqs = (
      await db('gekko_audit_records').select('seq').orderBy('seq')
    ).map(r => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: 320 }, (_, i) => i + 1));
    const result = await audit.verify();
    expect(result).toMatchObject({ valid: true, checked: 320 });
  });

  it('redacts secrets in details before they are stored', async () => {
    const record = await audit.append(
      entry(1, {
        details: {
          token: 'abc',
          nested: { password: 'p', keep: 'k' },
          apiKey: 'x',
        },
      }),
    );
    expect(record.details).toEqual({
      token: '[REDACTED]',
      nested: { password: '[REDACTED]', keep: 'k' },
      apiKey: '[REDACTED]',
    });
    const row = await db('gekko_audit_records').where({ seq: 1 }).first();
    expect(row.details).not.toContain('abc');
    expect(row.canonical).not.toContain('abc');
  });

  it('names the first broken record when a field is edited in the database', async () => {
    await appendMany(audit, 5);
    await db('gekko_audit_records')
      .where({ seq: 3 })
      .update({ actor: 'user:default/mallory' });
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      checked: 2,
      firstBrokenSeq: 3,
      reason: expect.stringContaining('record 3: its fields differ'),
    });
  });

  it('detects an edit whose canonical JSON and hash were recomputed, at the next record', async () => {
    await appendMany(audit, 5);
    const row = await db('gekko_audit_records').where({ seq: 2 }).first();
    const fields = {
      seq: 2,
      time: row.time,
      actor: 'user:default/mallory',
      action: row.action,
      target: row.target,
      outcome: row.outcome,
      requestId: row.request_id,
      details: JSON.parse(row.details),
    };
    const canonical = canonicalAuditRecord(fields);
    await db('gekko_audit_records')
      .where({ seq: 2 })
      .update({
        actor: fields.actor,
        canonical,
        hash: chainHash(row.prev_hash, canonical),
      });
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 3,
      reason: expect.stringContaining(
        'previous hash does not match the hash of record 2',
      ),
    });
  });

  it('detects a deleted record in the middle', async () => {
    await appendMany(audit, 5);
    await db('gekko_audit_records').where({ seq: 4 }).delete();
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      checked: 3,
      firstBrokenSeq: 4,
      reason: expect.stringContaining('missing'),
    });
  });

  it('detects a deleted tail through the head row', async () => {
    await appendMany(audit, 5);
    await db('gekko_audit_records').where('seq', '>=', 4).delete();
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 4,
      reason: expect.stringContaining('its head says 5'),
    });
  });

  it('detects a record inserted at the end', async () => {
    await appendMany(audit, 3);
    const last = await db('gekko_audit_records').where({ seq: 3 }).first();
    await db('gekko_audit_records').insert({
      ...last,
      seq: 4,
      prev_hash: last.hash,
    });
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 4,
    });
  });

  it('names a record added with a far-off sequence number, without walking the gap', async () => {
    await appendMany(audit, 3);
    const last = await db('gekko_audit_records').where({ seq: 3 }).first();
    await db('gekko_audit_records').insert({
      ...last,
      seq: 1_000_000_000_000,
      prev_hash: last.hash,
    });
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      checked: 3,
      firstBrokenSeq: 4,
      reason: expect.stringContaining(
        'the chain jumps from record 3 to 1000000000000',
      ),
    });
  });

  it('detects reordered records', async () => {
    await appendMany(audit, 5);
    await db.transaction(async trx => {
      await trx('gekko_audit_records').where({ seq: 2 }).update({ seq: 1000 });
      await trx('gekko_audit_records').where({ seq: 4 }).update({ seq: 2 });
      await trx('gekko_audit_records').where({ seq: 1000 }).update({ seq: 4 });
    });
    await expect(audit.verify()).resolves.toMatchObject({
      valid: false,
      checked: 1,
      firstBrokenSeq: 2,
    });
  });

  it('queries by entity, actor, action, outcome and time, page by page', async () => {
    await appendMany(audit, 12);
    await audit.append(
      entry(13, {
        outcome: 'denied',
        action: 'pool.delete',
        target: 'resource:default/other',
      }),
    );

    const first = await audit.query({
      target: 'resource:default/pool-1',
      limit: 2,
      order: 'desc',
    });
    expect(first.items.map(r => r.seq)).toEqual([9, 5]);
    const second = await audit.query({
      target: 'resource:default/pool-1',
      limit: 2,
      order: 'desc',
      cursor: first.nextCursor,
    });
    expect(second.items.map(r => r.seq)).toEqual([1]);
    expect(second.nextCursor).toBeUndefined();

    const denied = await audit.query({
      outcome: 'denied',
      limit: 50,
      order: 'asc',
    });
    expect(denied.items.map(r => [r.seq, r.action])).toEqual([
      [13, 'pool.delete'],
    ]);
    const byActor = await audit.query({
      actor: 'user:default/trader-0',
      limit: 50,
      order: 'asc',
    });
    expect(byActor.items.map(r => r.seq)).toEqual([3, 6, 9, 12]);
    const future = await audit.query({
      from: new Date(Date.now() + 60_000).toISOString(),
      limit: 50,
      order: 'asc',
    });
    expect(future.items).toEqual([]);
    await expect(
      audit.query({ cursor: 'abc', limit: 5, order: 'asc' }),
    ).rejects.toThrow('Invalid cursor');
  });
});
