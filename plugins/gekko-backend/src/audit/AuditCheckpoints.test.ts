import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import { openGekkoDatabase } from '../database/migrations';
import { AuditTrail } from './AuditTrail';
import {
  appendMany,
  chainWithCheckpoints,
  newKeyPair,
  rewriteTail,
  signedTrail,
  signingKey,
} from './__testUtils__/signedTrail';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

describeEachDatabase(databases)(
  'signed audit checkpoints on %s',
  databaseId => {
    let db: Knex;

    beforeEach(async () => {
      const knex = await databases.init(databaseId);
      db = await openGekkoDatabase(mockServices.database({ knex }));
    });

    /** Three checkpoints, at records 10, 20 and 30, and five unsigned records after them. */
    const chain = (setup: ReturnType<typeof signedTrail>) =>
      chainWithCheckpoints(setup, 3, 5);

    it('signs the head, and verify checks every checkpoint', async () => {
      const { trail, store, key } = await chain(signedTrail(db));
      const checkpoints = await store.list();
      expect(checkpoints.map(c => c.seq)).toEqual([10, 20, 30]);
      expect(checkpoints.every(c => c.keyId === key.keyId)).toBe(true);
      await expect(trail.verify()).resolves.toMatchObject({
        valid: true,
        checked: 35,
        checkpoints: {
          enabled: true,
          checked: 3,
          lastSigned: { seq: 30, keyId: key.keyId },
          unsignedRecords: 5,
        },
      });
    });

    it('catches a consistent rewrite of the tail and the head row, naming the first record after the last valid checkpoint', async () => {
      const { trail } = await chain(signedTrail(db));
      await rewriteTail(db, 25);
      // Without checkpoints, the rewritten chain links up and matches its head: it would pass.
      const plain = new AuditTrail(db, { logger: mockServices.logger.mock() });
      await expect(plain.verify()).resolves.toMatchObject({ valid: true });

      await expect(trail.verify()).resolves.toMatchObject({
        valid: false,
        firstBrokenSeq: 21,
        segment: 'live',
        reason: expect.stringContaining(
          'record 21: the chain was rewritten: record 30 no longer has the hash signed in its checkpoint',
        ),
      });
    });

    it('catches a rewrite of the whole chain', async () => {
      const { trail } = await chain(signedTrail(db));
      await rewriteTail(db, 1);
      await expect(trail.verify()).resolves.toMatchObject({
        valid: false,
        firstBrokenSeq: 1,
      });
    });

    it('refuses to sign a chain rewritten under it, and notices deleted checkpoints', async () => {
      const logger = mockServices.logger.mock();
      const { checkpointer, store } = await chain(signedTrail(db, { logger }));
      await rewriteTail(db, 25);
      await expect(checkpointer.checkpoint()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining(
          'Refusing to sign an audit checkpoint: the records after checkpoint 30 do not link up',
        ),
      );
      expect((await store.list()).map(c => c.seq)).toEqual([10, 20, 30]);

      await db('gekko_audit_checkpoints').where('seq', '>', 20).delete();
      await expect(checkpointer.checkpoint()).resolves.toBeUndefined();
      expect(logger.error).toHaveBeenCalledWith(
        expect.stringContaining('someone deleted checkpoints'),
      );
    });

    it('reports an unsigned tail as broken once a checkpoint is overdue (checkpoints deleted after a rewrite)', async () => {
      const { trail } = await chain(signedTrail(db));
      await rewriteTail(db, 21);
      await db('gekko_audit_checkpoints').where('seq', '>', 20).delete();
      // Just after the rewrite the tail is young, and unsigned for a moment is normal…
      await expect(trail.verify()).resolves.toMatchObject({
        valid: true,
        checkpoints: { lastSigned: { seq: 20 }, unsignedRecords: 15 },
      });
      // …but no checkpoint for two intervals and more means they were deleted.
      const later = Date.now() + 3 * 60_000 + 1;
      await expect(trail.verify(later)).resolves.toMatchObject({
        valid: false,
        firstBrokenSeq: 21,
        reason: expect.stringContaining(
          'is not covered by a signed checkpoint, nor are the 14 records after it',
        ),
      });
    });

    it('rejects a checkpoint signed by an untrusted key, and accepts a rotated key listed as trusted', async () => {
      const old = newKeyPair();
      const before = signedTrail(db, { key: signingKey(old.privateKeyPem) });
      await appendMany(before.trail, 10);
      await before.checkpointer.checkpoint();

      const rotated = newKeyPair();
      const forgetful = signedTrail(db, {
        key: signingKey(rotated.privateKeyPem),
      });
      await expect(forgetful.trail.verify()).resolves.toMatchObject({
        valid: false,
        firstBrokenSeq: 10,
        reason: expect.stringContaining('which is not a trusted key'),
      });

      const remembering = signedTrail(db, {
        key: signingKey(rotated.privateKeyPem, [old.publicKeyPem]),
      });
      await appendMany(remembering.trail, 10, 11);
      await remembering.checkpointer.checkpoint();
      await expect(remembering.trail.verify()).resolves.toMatchObject({
        valid: true,
        checkpoints: { checked: 2, lastSigned: { seq: 20 } },
      });
    });

    it('rejects a checkpoint whose signature does not match what it claims', async () => {
      const { trail } = await chain(signedTrail(db));
      const row = await db('gekko_audit_checkpoints')
        .where({ seq: 20 })
        .first();
      const other = await db('gekko_audit_checkpoints')
        .where({ seq: 10 })
        .first();
      await db('gekko_audit_checkpoints')
        .where({ seq: 20 })
        .update({ signature: other.signature });
      await expect(trail.verify()).resolves.toMatchObject({
        valid: false,
        firstBrokenSeq: 20,
        reason: expect.stringContaining('its signature does not match'),
      });
      expect(row.signature).not.toBe(other.signature);
    });

    it('signs once every `every` committed records, by itself', async () => {
      const setup = signedTrail(db, {
        policy: { every: 5, intervalMs: 3_600_000 },
      });
      setup.trail.onCommitted(() => setup.checkpointer.recordsCommitted(1));
      await appendMany(setup.trail, 12);
      // The checkpoint runs in the background once the 5th and 10th records are committed.
      await setup.checkpointer.checkpoint();
      const seqs = (await setup.store.list()).map(c => c.seq);
      expect(seqs.length).toBeGreaterThanOrEqual(2);
      expect(seqs[seqs.length - 1]).toBe(12);
    });
  },
);
