import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import {
  derivedNatsConfig,
  findNatsServerBinary,
  NatsTestServer,
  startNatsTestServer,
} from '@gekko/worker';
import { Knex } from 'knex';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openGekkoDatabase } from '../database/migrations';
import {
  appendMany,
  chainWithCheckpoints,
  newKeyPair,
  rewriteTail,
  signedTrail,
  signingKey,
} from './__testUtils__/signedTrail';
import { AuditCheckpointer, CheckpointStore } from './AuditCheckpoints';
import { AuditTrail } from './AuditTrail';
import { NatsAuditWitness } from './AuditWitness';

jest.setTimeout(60_000);

const natsServer = findNatsServerBinary();
if (!natsServer) {
  // eslint-disable-next-line no-console
  console.warn(
    'SKIPPED: the audit witness on NATS JetStream — no nats-server at /usr/sbin/nats-server; set GEKKO_TEST_NATS_SERVER_BIN',
  );
}
/** `describe`, or `describe.skip` without nats-server: its tests then count as skipped. */
const describeWithNatsServer = natsServer ? describe : describe.skip;

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describeWithNatsServer('the audit witness on NATS JetStream', () => {
  let dir: string;
  let server: NatsTestServer;
  const password = crypto.randomBytes(12).toString('hex');
  const link = () => ({
    servers: server.url,
    auth: { user: 'gekko-control-plane', pass: password },
  });
  let db: Knex;
  const witnesses: NatsAuditWitness[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-witness-'));
    // The shipped deploy/nats/gekko.conf: JetStream, and the control plane's permissions on it.
    server = await startNatsTestServer({
      config: derivedNatsConfig([]),
      dir,
      env: { GEKKO_NATS_CONTROL_PLANE_PASSWORD: password },
    });
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    const knex = await databases.init('SQLITE_3');
    db = await openGekkoDatabase(mockServices.database({ knex }));
  });

  afterEach(async () => {
    await Promise.all(witnesses.splice(0).map(w => w.close()));
  });

  function witnessed(prefix: string) {
    const witness = new NatsAuditWitness({
      link: link(),
      subjectPrefix: prefix,
      logger: mockServices.logger.mock(),
    });
    witnesses.push(witness);
    const keys = newKeyPair();
    const key = signingKey(keys.privateKeyPem);
    const logger = mockServices.logger.mock();
    const policy = { every: 10, intervalMs: 60_000 };
    const trail = new AuditTrail(db, {
      logger,
      trusted: key.trusted,
      checkpointPolicy: policy,
      witness,
    });
    const checkpointer = new AuditCheckpointer(
      db,
      new CheckpointStore(db),
      key,
      policy,
      logger,
      witness,
    );
    return { witness, trail, checkpointer, logger, key };
  }

  it('keeps each checkpoint outside the database, and catches deleted checkpoints with a rewritten tail at once', async () => {
    const { witness, trail, checkpointer, key } = await chainWithCheckpoints(
      witnessed('gekko'),
      3,
      0,
    );
    await expect(witness.latest()).resolves.toMatchObject({ seq: 30 });
    await expect(trail.verify()).resolves.toMatchObject({
      valid: true,
      checkpoints: {
        checked: 3,
        witness: {
          name: 'NATS JetStream stream GEKKO_AUDIT_CHECKPOINTS',
          seq: 30,
        },
      },
    });

    // Delete the newest checkpoints and rewrite the tail: the table alone would look fine…
    await db('gekko_audit_checkpoints').where('seq', '>', 10).delete();
    await rewriteTail(db, 11);
    const tableOnly = new AuditTrail(db, {
      logger: mockServices.logger.mock(),
      trusted: key.trusted,
      checkpointPolicy: { every: 10, intervalMs: 60_000 },
    });
    await expect(tableOnly.verify()).resolves.toMatchObject({
      valid: true,
      checkpoints: { lastSigned: { seq: 10 }, unsignedRecords: 20 },
    });
    // …but the witness still holds checkpoint 30.
    await expect(trail.verify()).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 11,
      reason: expect.stringContaining(
        'record 30 no longer has the hash signed in its checkpoint',
      ),
    });
    expect(checkpointer).toBeDefined();
    // And a checkpointer started afresh (after a restart) will not sign the rewritten chain.
    const logger = mockServices.logger.mock();
    const restarted = new AuditCheckpointer(
      db,
      new CheckpointStore(db),
      key,
      { every: 10, intervalMs: 60_000 },
      logger,
      witness,
    );
    await expect(restarted.checkpoint()).resolves.toBeUndefined();
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining(
        'NATS JetStream stream GEKKO_AUDIT_CHECKPOINTS holds a checkpoint of record 30, newer than any in gekko_audit_checkpoints',
      ),
    );
  });

  it('says when the witness cannot be read, and still verifies the database', async () => {
    const { trail, checkpointer } = signedTrail(db);
    await appendMany(trail, 5);
    await checkpointer.checkpoint();
    const down = new NatsAuditWitness({
      link: { servers: 'nats://127.0.0.1:1' },
      logger: mockServices.logger.mock(),
    });
    witnesses.push(down);
    const key = signingKey(newKeyPair().privateKeyPem);
    const blind = new AuditTrail(db, {
      logger: mockServices.logger.mock(),
      trusted: key.trusted,
      witness: down,
    });
    const result = await blind.verify();
    expect(result.checkpoints?.witness).toMatchObject({
      seq: null,
      error: expect.stringContaining('could not read it'),
    });
  });

  it("refuses a client without the control plane's credentials", async () => {
    const intruder = new NatsAuditWitness({
      link: {
        servers: server.url,
        auth: { user: 'gekko-control-plane', pass: 'wrong' },
      },
      logger: mockServices.logger.mock(),
    });
    witnesses.push(intruder);
    await expect(intruder.latest()).rejects.toThrow(/Authorization/i);
  });
});
