/*
 * Worker identities against a real nats-server started here on its own port, with the shipped
 * deploy/nats/gekko.conf (its example workers replaced by ones made here, as `gekko-worker nats-user`
 * makes them): each worker may only serve as its own pool and id, the control plane refuses
 * heartbeats that lie about them, wrong credentials cannot connect, and TLS is enforced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AuthorizationError,
  NatsConnection,
  nkeys,
  PermissionViolationError,
  Status,
} from '@nats-io/transport-node';
import { HeartbeatMessage } from '../../protocol/types';
import {
  derivedNatsConfig,
  findNatsServerBinary,
  findOpensslBinary,
  findShippedNatsConfig,
  makeTestCertificates,
  NatsTestServer,
  startNatsTestServer,
  TestCertificates,
} from '../../testing/natsTestServer';
import { connectNats, NatsAuth, NatsTls } from './connectNats';
import { NatsControlPlane, NatsHeartbeatRefusal } from './NatsControlPlane';
import {
  NatsWorker,
  NatsWorkerRefusedError,
  startNatsWorker,
} from './NatsWorkerServer';
import {
  NATS_CONFIG_WORKERS_BEGIN,
  NATS_CONFIG_WORKERS_END,
  natsWorkerUserConfig,
  natsWorkerUserName,
} from './natsServerConfig';
import {
  modelRef,
  recorder,
  repoArtifactReader,
  until,
  windowRows,
} from './__testUtils__/natsTestSupport';

jest.setTimeout(60_000);

const natsServer = findNatsServerBinary();
const openssl = findOpensslBinary();
if (!natsServer) {
  process.stderr.write(
    'SKIPPED: NATS worker identity tests — no nats-server binary (install it at /usr/sbin/nats-server or set GEKKO_TEST_NATS_SERVER_BIN)\n',
  );
} else if (!openssl) {
  process.stderr.write(
    'SKIPPED: NATS TLS tests — no openssl binary to make the test certificates\n',
  );
}
const describeWithNatsServer = natsServer ? describe : describe.skip;
const describeWithTls = natsServer && openssl ? describe : describe.skip;

const one = () => ({
  name: 'nhits-price',
  version: '1',
  rows: 1,
  input: windowRows(1),
});

/** Identities made as an operator would: an nkey for worker a-1 of pool-a, a password for b-1 of pool-b. */
function makeIdentities(dir: string) {
  const user = nkeys.createUser();
  const seedA = path.join(dir, 'a-1.nk');
  fs.writeFileSync(seedA, `${new TextDecoder().decode(user.getSeed())}\n`, {
    mode: 0o600,
  });
  // nats-server reads a variable whose value starts with a digit as a number and refuses the config.
  const passwordB = `p${crypto.randomBytes(18).toString('base64url')}`;
  const controlPassword = crypto.randomBytes(18).toString('base64url');
  return {
    workers: [
      natsWorkerUserConfig({
        pool: 'pool-a',
        id: 'a-1',
        nkey: user.getPublicKey(),
      }),
      natsWorkerUserConfig({
        pool: 'pool-b',
        id: 'b-1',
        passwordVariable: 'TEST_PASSWORD_B1',
      }),
    ],
    env: {
      GEKKO_NATS_CONTROL_PLANE_PASSWORD: controlPassword,
      TEST_PASSWORD_B1: passwordB,
    },
    authA: { nkeySeedFile: seedA } satisfies NatsAuth,
    authB: {
      user: natsWorkerUserName('pool-b', 'b-1'),
      pass: passwordB,
    } satisfies NatsAuth,
    control: { user: 'gekko-control-plane', pass: controlPassword },
  };
}

/** A heartbeat body as a worker sends it, claiming `pool` and `id`. */
function heartbeatOf(pool: string, id: string): HeartbeatMessage {
  return {
    worker: {
      id,
      pool,
      transport: 'nats',
      host: 'h',
      pid: 1,
      startedAt: new Date().toISOString(),
    },
    seq: 1,
    heartbeat: {
      timestamp: new Date().toISOString(),
      acceleratorKind: 'cpu',
      devices: [],
      loadedModels: [],
      queueDepth: 0,
      requestsPerSecond: 0,
      rowsPerSecond: 0,
      latencyMs: {},
    },
  } as unknown as HeartbeatMessage;
}

/** The permission errors the server sends a connection. */
function permissionErrors(nc: NatsConnection): PermissionViolationError[] {
  const errors: PermissionViolationError[] = [];
  (async () => {
    for await (const status of nc.status() as AsyncIterable<Status>) {
      if (
        status.type === 'error' &&
        status.error instanceof PermissionViolationError
      ) {
        errors.push(status.error);
      }
    }
  })().catch(() => {});
  return errors;
}

describe('the shipped NATS server config', () => {
  it('has a workers section whose entries are what nats-user prints', () => {
    const shipped = fs.readFileSync(findShippedNatsConfig(), 'utf8');
    const section = shipped.slice(
      shipped.indexOf(NATS_CONFIG_WORKERS_BEGIN) +
        NATS_CONFIG_WORKERS_BEGIN.length,
      shipped.indexOf(NATS_CONFIG_WORKERS_END),
    );
    const entries = [
      ...section.matchAll(
        /# worker (\S+) of pool (\S+)\n\s*\{ nkey: (U[A-Z2-7]{55}),/g,
      ),
    ];
    expect(entries.length).toBeGreaterThan(0);
    for (const [, id, pool, nkey] of entries) {
      expect(section).toContain(
        natsWorkerUserConfig({ pool, id, nkey }).split('\n')[1],
      );
    }
  });
});

describeWithNatsServer('NATS worker identities (private nats-server)', () => {
  let dir: string;
  let server: NatsTestServer;
  let ids: ReturnType<typeof makeIdentities>;
  let plane: NatsControlPlane | undefined;
  const workers: NatsWorker[] = [];
  const raws: NatsConnection[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-nats-identity-'));
    ids = makeIdentities(dir);
    server = await startNatsTestServer({
      config: derivedNatsConfig(ids.workers),
      dir,
      env: ids.env,
    });
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.close(1000);
    for (const nc of raws.splice(0)) await nc.close();
    await plane?.close();
    plane = undefined;
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const raw = async (auth: NatsAuth) => {
    const nc = await connectNats({ servers: server.url, auth });
    raws.push(nc);
    return nc;
  };

  it('lets honest workers join with their own identities and serve through the control plane', async () => {
    const { heartbeats, events } = recorder();
    const reader = repoArtifactReader();
    plane = await NatsControlPlane.connect({
      servers: server.url,
      auth: ids.control,
      events,
      readArtifact: reader.read,
    });
    // No models folder: the model comes from the control plane, into the worker's own inbox.
    workers.push(
      await startNatsWorker({
        servers: server.url,
        auth: ids.authA,
        pool: 'pool-a',
        id: 'a-1',
        heartbeatIntervalMs: 100,
        intraOpThreads: 1,
      }),
      await startNatsWorker({
        servers: server.url,
        auth: ids.authB,
        pool: 'pool-b',
        id: 'b-1',
        heartbeatIntervalMs: 100,
        intraOpThreads: 1,
      }),
    );
    await until(
      () => Boolean(plane!.connection('a-1') && plane!.connection('b-1')),
      'both workers',
    );
    for (const id of ['a-1', 'b-1']) {
      const connection = plane.connection(id)!;
      await connection.command({ op: 'load', model: modelRef }, 30_000);
      await expect(connection.infer(one(), 10_000)).resolves.toMatchObject({
        provider: 'cpu',
        outputs: { forecast: { dims: [1, 12] } },
      });
    }
    expect(reader.reads).toBeGreaterThanOrEqual(1);
    expect(plane.connection('a-1')!.identity.pool).toBe('pool-a');
    expect(plane.connection('b-1')!.identity.pool).toBe('pool-b');
    expect(heartbeats.length).toBeGreaterThan(0);
  });

  it("refuses a worker with pool A's identity that claims pool B, at the server and at the control plane", async () => {
    const { heartbeats, events } = recorder();
    const refusals: NatsHeartbeatRefusal[] = [];
    plane = await NatsControlPlane.connect({
      servers: server.url,
      auth: ids.control,
      events,
      onRefusal: refusal => refusals.push(refusal),
    });

    // The worker program with a-1's credentials but --pool pool-b: the server refuses its
    // subjects, and it stops with a message that says why.
    const lines: string[] = [];
    const impostor = startNatsWorker({
      servers: server.url,
      auth: ids.authA,
      pool: 'pool-b',
      id: 'a-1',
      heartbeatIntervalMs: 100,
      intraOpThreads: 1,
      logger: line => lines.push(line),
    });
    await expect(impostor).rejects.toBeInstanceOf(NatsWorkerRefusedError);
    await expect(impostor).rejects.toThrow(
      /NATS refused worker a-1 of pool pool-b .*Permissions Violation/,
    );

    // A hand-made client with a-1's credentials.
    const nc = await raw(ids.authA);
    const errors = permissionErrors(nc);
    // Another pool's subject: the server drops it and says so.
    nc.publish(
      'gekko.heartbeat.pool-b.a-1',
      JSON.stringify(heartbeatOf('pool-b', 'a-1')),
    );
    nc.publish(
      'gekko.heartbeat.pool-b.b-1',
      JSON.stringify(heartbeatOf('pool-b', 'b-1')),
    );
    // Its own subject, with a body that lies about the pool, then about the id: the control
    // plane refuses both (and reports each subject once).
    nc.publish(
      'gekko.heartbeat.pool-a.a-1',
      JSON.stringify(heartbeatOf('pool-b', 'a-1')),
    );
    nc.publish(
      'gekko.heartbeat.pool-a.a-1',
      JSON.stringify(heartbeatOf('pool-a', 'b-1')),
    );
    await nc.flush();
    await until(() => errors.length === 2, 'two publish violations');
    expect(errors.map(e => [e.operation, e.subject])).toEqual([
      ['publish', 'gekko.heartbeat.pool-b.a-1'],
      ['publish', 'gekko.heartbeat.pool-b.b-1'],
    ]);
    await until(() => refusals.length === 2, 'two refusals');
    expect(refusals).toEqual([
      expect.objectContaining({
        subject: 'gekko.heartbeat.pool-a.a-1',
        subjectPool: 'pool-a',
        subjectId: 'a-1',
        claimedPool: 'pool-b',
        claimedId: 'a-1',
        report: true,
      }),
      expect.objectContaining({
        claimedPool: 'pool-a',
        claimedId: 'b-1',
        report: false,
        unreported: 1,
      }),
    ]);
    // Messages of one publisher arrive in order: the refused ones would have come first.
    expect(heartbeats).toEqual([]);
    expect(plane.connections()).toEqual([]);
  });

  it("keeps a worker from reading other workers' requests or acting as the control plane", async () => {
    const nc = await raw(ids.authA);
    const errors = permissionErrors(nc);
    const forbidden = [
      'gekko.worker.pool-b.b-1.infer',
      'gekko.worker.pool-b.b-1.*',
      'gekko.worker.pool-a.a-2.rpc',
      'gekko.worker.>',
      'gekko.heartbeat.>',
      'gekko.artifacts.get',
      '_INBOX.>',
      '>',
    ];
    const subs = forbidden.map(subject => nc.subscribe(subject));
    // The server answers the flush after it has refused the subscriptions.
    await nc.flush();
    await new Promise(resolve => setImmediate(resolve));
    expect(subs.map(sub => sub.isClosed())).toEqual(forbidden.map(() => true));
    expect(errors.map(e => [e.operation, e.subject])).toEqual(
      forbidden.map(subject => ['subscription', subject]),
    );
    errors.length = 0;
    // Nor send commands to another worker.
    nc.publish(
      'gekko.worker.pool-b.b-1.rpc',
      JSON.stringify({ op: 'unload', name: 'nhits-price', version: '1' }),
    );
    await nc.flush();
    await until(
      () => errors.some(e => e.operation === 'publish'),
      'a publish violation',
    );
    expect(errors.find(e => e.operation === 'publish')?.subject).toBe(
      'gekko.worker.pool-b.b-1.rpc',
    );
    // Its own subjects are allowed.
    const own = nc.subscribe('gekko.worker.pool-a.a-1.*');
    await nc.flush();
    expect(own.isClosed()).toBe(false);
  });

  it('refuses wrong credentials', async () => {
    const connects = (auth: NatsAuth) =>
      connectNats(
        { servers: server.url, auth },
        { reconnect: false, maxReconnectAttempts: 0 },
      ).then(nc => nc.close());
    await expect(
      connects({ ...ids.authB, pass: `${ids.authB.pass}x` }),
    ).rejects.toBeInstanceOf(AuthorizationError);
    await expect(
      connects({ user: 'gekko-control-plane', pass: 'guess' }),
    ).rejects.toBeInstanceOf(AuthorizationError);
    await expect(connects({})).rejects.toBeInstanceOf(AuthorizationError);
    const stranger = path.join(dir, 'stranger.nk');
    fs.writeFileSync(
      stranger,
      new TextDecoder().decode(nkeys.createUser().getSeed()),
    );
    await expect(connects({ nkeySeedFile: stranger })).rejects.toBeInstanceOf(
      AuthorizationError,
    );
    // The worker program does not join either.
    await expect(
      startNatsWorker({
        servers: server.url,
        auth: { ...ids.authB, pass: 'wrong' },
        pool: 'pool-b',
        id: 'b-1',
      }),
    ).rejects.toThrow(/Authorization Violation/i);
    // The right ones still work.
    await expect(connects(ids.authB)).resolves.toBeUndefined();
  });
});

describeWithTls('NATS over TLS (private nats-server)', () => {
  let dir: string;
  let server: NatsTestServer;
  let ids: ReturnType<typeof makeIdentities>;
  let certs: TestCertificates;
  let plane: NatsControlPlane | undefined;
  let worker: NatsWorker | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-nats-tls-'));
    ids = makeIdentities(dir);
    certs = makeTestCertificates(dir);
    server = await startNatsTestServer({
      config: derivedNatsConfig(ids.workers, {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        verify: true,
      }),
      dir,
      env: ids.env,
    });
  });

  afterAll(async () => {
    await worker?.close(1000);
    await plane?.close();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves with the CA and a client certificate, and refuses clients without them', async () => {
    const tls: NatsTls = {
      caFile: certs.caFile,
      certFile: certs.clientCertFile,
      keyFile: certs.clientKeyFile,
    };
    const { events } = recorder();
    plane = await NatsControlPlane.connect({
      servers: server.url,
      auth: ids.control,
      tls,
      events,
      readArtifact: repoArtifactReader().read,
    });
    worker = await startNatsWorker({
      servers: server.url,
      auth: ids.authA,
      tls,
      pool: 'pool-a',
      id: 'a-1',
      heartbeatIntervalMs: 100,
      intraOpThreads: 1,
    });
    await until(() => Boolean(plane!.connection('a-1')), 'the worker');
    const connection = plane.connection('a-1')!;
    await connection.command({ op: 'load', model: modelRef }, 30_000);
    await expect(connection.infer(one(), 10_000)).resolves.toMatchObject({
      provider: 'cpu',
    });

    const connects = (options: NatsTls | undefined) =>
      connectNats(
        { servers: server.url, auth: ids.authA, tls: options },
        { reconnect: false, maxReconnectAttempts: 0 },
      ).then(nc => nc.close());
    // No CA: the server's certificate is not trusted.
    await expect(connects(undefined)).rejects.toThrow(
      /certificate|self.signed/i,
    );
    await expect(
      connects({
        caFile: certs.otherCaFile,
        certFile: certs.clientCertFile,
        keyFile: certs.clientKeyFile,
      }),
    ).rejects.toThrow(/certificate|self.signed/i);
    // The CA but no client certificate: the server refuses the client. With TLS 1.3 the server
    // checks the client's certificate after the handshake, and a client that writes before reading
    // its alert sees the connection reset instead (seen when the machine is busy).
    await expect(connects({ caFile: certs.caFile })).rejects.toThrow(
      /bad certificate|certificate required|ECONNRESET/,
    );
    // Everything: connects.
    await expect(connects(tls)).resolves.toBeUndefined();
  });
});
