import { mockServices, TestDatabases } from '@backstage/backend-test-utils';
import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { openGekkoDatabase } from '../database/migrations';
import { AuditedChanges } from './AuditedChanges';
import { AuditTrail } from './AuditTrail';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const context = { actor: 'user:default/ava', requestId: 'req-1' };
const what = {
  action: 'pool.update',
  target: 'resource:default/cpu-dr',
  subject: { pool: 'cpu-dr' },
};

describeEachDatabase(databases)('AuditedChanges on %s', databaseId => {
  let db: Knex;
  let changes: AuditedChanges;
  let trail: AuditTrail;

  beforeEach(async () => {
    const knex = await databases.init(databaseId);
    db = await openGekkoDatabase(mockServices.database({ knex }));
    await db.schema.createTable('things', t => {
      t.string('name').primary();
    });
    trail = new AuditTrail(db, { logger: mockServices.logger.mock() });
    changes = new AuditedChanges(db, trail);
  });

  const things = async () =>
    (await db('things').select('name')).map(r => r.name);
  const records = () => db('gekko_audit_records').orderBy('seq');

  it('commits a change and its success record together, with the change details and subject', async () => {
    const result = await changes.run(context, what, async trx => {
      await trx('things').insert({ name: 'a' });
      return { result: 'done', details: { added: 'a' } };
    });

    expect(result).toBe('done');
    expect(await things()).toEqual(['a']);
    const [record] = await records();
    expect(record).toMatchObject({
      actor: 'user:default/ava',
      action: 'pool.update',
      target: 'resource:default/cpu-dr',
      outcome: 'success',
      request_id: 'req-1',
    });
    expect(JSON.parse(record.details)).toEqual({
      pool: 'cpu-dr',
      added: 'a',
    });
    await expect(trail.verify()).resolves.toMatchObject({ valid: true });
  });

  it('keeps neither the change nor a success record when the change fails, and records a failure the caller can fix', async () => {
    await expect(
      changes.run(context, what, async trx => {
        await trx('things').insert({ name: 'half-done' });
        throw new ConflictError('Pool cpu-dr changed meanwhile; retry');
      }),
    ).rejects.toThrow('Pool cpu-dr changed meanwhile');

    expect(await things()).toEqual([]);
    const rows = await records();
    expect(rows).toHaveLength(1);
    expect(rows[0].outcome).toBe('failure');
    expect(JSON.parse(rows[0].details)).toEqual({
      pool: 'cpu-dr',
      error: 'Pool cpu-dr changed meanwhile; retry',
    });
  });

  it('records nothing for an unexpected error, which is a bug and not an outcome', async () => {
    await expect(
      changes.run(context, what, async trx => {
        await trx('things').insert({ name: 'x' });
        throw new TypeError('boom');
      }),
    ).rejects.toThrow('boom');

    expect(await things()).toEqual([]);
    expect(await records()).toEqual([]);
  });

  it('rolls the change back when its audit record cannot be written', async () => {
    // A record the table refuses (its actor is NOT NULL): writing it fails inside the transaction.
    const nobody = { ...context, actor: null as unknown as string };
    const error = await changes
      .run(nobody, what, async trx => {
        await trx('things').insert({ name: 'unaudited' });
        return { result: undefined, details: {} };
      })
      .then(
        () => undefined,
        e => e,
      );
    // Matched on the message: better-sqlite3's errors come from another realm than jest's Error.
    expect(String(error?.message)).toMatch(/null/i);

    expect(await things()).toEqual([]);
    expect(await records()).toEqual([]);
  });
});
