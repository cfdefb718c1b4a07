/*
 * Remote workers that prove who they are: a real gekko backend and real gekko-worker processes,
 * each worker with its own NATS identity, on a private nats-server started here with the shipped
 * deploy/nats/gekko.conf (its example workers replaced by identities made here) and TLS with
 * certificates made here. Honest workers serve; a worker using another pool's identity cannot
 * join; one that lies in its heartbeat on its own subject is refused and audited; wrong
 * credentials cannot join.
 *
 * Needs /usr/sbin/nats-server (or GEKKO_TEST_NATS_SERVER_BIN) and openssl; skipped without them.
 */
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  connectNats,
  derivedNatsConfig,
  findNatsServerBinary,
  findOpensslBinary,
  makeTestCertificates,
  NatsTestServer,
  natsWorkerUserName,
  runCli,
  startNatsTestServer,
  TestCertificates,
} from '@gekko/worker';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gekkoPlugin } from '../plugin';
import { findTestBinary } from '../__testUtils__/binaries';
import { until } from '../__testUtils__/until';

jest.setTimeout(180_000);

const natsServer = findNatsServerBinary();
const openssl = findOpensslBinary();
if (!natsServer || !openssl) {
  process.stderr.write(
    `SKIPPED: remote worker identities (private nats-server with the shipped permissions and TLS) — no ${
      natsServer
        ? 'openssl'
        : 'nats-server binary (/usr/sbin/nats-server or GEKKO_TEST_NATS_SERVER_BIN)'
    }\n`,
  );
}
const describeWithNatsServer = natsServer && openssl ? describe : describe.skip;
const promtool = findTestBinary(
  'promtool',
  'promtool check of the worker refusal counter',
);
/** `it`, or `it.skip` where promtool is missing: the check then counts as skipped, not passed. */
const itWithPromtool = promtool ? it : it.skip;

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const repoRoot = path.resolve(__dirname, '../../../..');
const workerBin = path.join(repoRoot, 'packages/gekko-worker/bin/gekko-worker');
const user = mockCredentials.user.header('user:default/ava');

const windows = (rows: number) =>
  Array.from({ length: rows }, (_, r) =>
    Array.from({ length: 120 }, (_v, i) => 100 + Math.sin((i + r) / 7)),
  );

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describeWithNatsServer('remote worker identities', () => {
  let dir: string;
  let nats: NatsTestServer | undefined;
  let certs: TestCertificates;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-worker-identity-'));
    certs = makeTestCertificates(dir);
  });

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    }
    await nats?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A gekko-worker process, its secrets in its environment and files only. */
  function runWorker(args: string[], env: NodeJS.ProcessEnv): Started {
    const child = spawn(
      process.execPath,
      [workerBin, '--heartbeat-ms', '250', '--threads', '1', ...args],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          GEKKO_NATS_URL: nats!.url,
          GEKKO_NATS_TLS_CA: certs.caFile,
          GEKKO_NATS_TLS_CERT: certs.clientCertFile,
          GEKKO_NATS_TLS_KEY: certs.clientKeyFile,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let text = '';
    child.stdout!.on('data', c => (text += c));
    child.stderr!.on('data', c => (text += c));
    const exited = new Promise<number | null>(resolve =>
      child.on('exit', code => resolve(code)),
    );
    return { child, output: () => text, exited };
  }

  /** The exposition with the refusal counter, for the promtool check after the test. */
  let refusalMetrics: string | undefined;

  it('serves through honest workers, keeps impostors out and audits a lying heartbeat', async () => {
    // Identities made by `gekko-worker nats-user`, as an operator would: an nkey for gpu-a1 of
    // cuda-primary, a password (the server reads it from its environment) for gpu-b1 of
    // cuda-secondary.
    const natsUser = async (args: string[]) => {
      let entry = '';
      const code = await runCli(
        ['nats-user', ...args],
        {},
        {
          stdout: text => (entry += text),
          stderr: () => {},
        },
      );
      expect(code).toBe(0);
      return entry.trim();
    };
    const seedA1 = path.join(dir, 'gpu-a1.nk');
    const entryA1 = await natsUser([
      '--pool',
      'cuda-primary',
      '--id',
      'gpu-a1',
      '--nkey-seed-out',
      seedA1,
    ]);
    const entryB1 = await natsUser([
      '--pool',
      'cuda-secondary',
      '--id',
      'gpu-b1',
      '--password-variable',
      'TEST_PASSWORD_B1',
    ]);
    const passwordB1 = crypto.randomBytes(18).toString('base64url');
    const passwordFileB1 = path.join(dir, 'gpu-b1.password');
    fs.writeFileSync(passwordFileB1, `${passwordB1}\n`, { mode: 0o600 });
    const controlPassword = crypto.randomBytes(18).toString('base64url');
    nats = await startNatsTestServer({
      config: derivedNatsConfig([entryA1, entryB1], {
        certFile: certs.serverCertFile,
        keyFile: certs.serverKeyFile,
        caFile: certs.caFile,
        verify: true,
      }),
      dir,
      env: {
        GEKKO_NATS_CONTROL_PLANE_PASSWORD: controlPassword,
        TEST_PASSWORD_B1: passwordB1,
      },
    });

    const knex = await databases.init('SQLITE_3');
    const pool = (name: string) => ({
      name,
      title: name,
      accelerator: 'cuda',
      region: 'primary',
      capacity: { devices: 8, memoryGiB: 640 },
      owner: 'group:default/platform',
    });
    const { server } = await startTestBackend({
      features: [
        gekkoPlugin,
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: {
            gekko: {
              gpuPools: [pool('cuda-primary'), pool('cuda-secondary')],
              gpu: { heartbeatIntervalMs: 250 },
              nats: {
                servers: nats.url,
                user: 'gekko-control-plane',
                password: controlPassword,
                tls: {
                  caFile: certs.caFile,
                  certFile: certs.clientCertFile,
                  keyFile: certs.clientKeyFile,
                },
              },
              inference: {
                modelsDir: path.join(repoRoot, 'models'),
                embedded: { workers: 0 },
                models: [
                  {
                    name: 'nhits-price',
                    version: '1',
                    artifact: 'nhits-price/1/model.onnx',
                    pools: ['cuda-primary'],
                  },
                ],
              },
            },
          },
        }),
        mockServices.events.factory(),
      ],
    });

    // The honest workers, no models folder: the model comes over NATS.
    const honestA = runWorker(
      ['--pool', 'cuda-primary', '--id', 'gpu-a1', '--nkey-seed', seedA1],
      {},
    );
    const honestB = runWorker(['--pool', 'cuda-secondary', '--id', 'gpu-b1'], {
      GEKKO_NATS_USER: natsWorkerUserName('cuda-secondary', 'gpu-b1'),
      GEKKO_NATS_PASSWORD_FILE: passwordFileB1,
    });
    // gpu-a1's identity trying to join cuda-secondary; wrong credentials for gpu-b1.
    const impostor = runWorker(
      ['--pool', 'cuda-secondary', '--id', 'gpu-a1', '--nkey-seed', seedA1],
      {},
    );
    const wrongPassword = runWorker(
      ['--pool', 'cuda-secondary', '--id', 'gpu-b1'],
      {
        GEKKO_NATS_USER: natsWorkerUserName('cuda-secondary', 'gpu-b1'),
        GEKKO_NATS_PASSWORD: 'guessed',
      },
    );

    await expect(impostor.exited).resolves.toBe(1);
    expect(impostor.output()).toMatch(
      /NATS refused worker gpu-a1 of pool cuda-secondary .*Permissions Violation/,
    );
    await expect(wrongPassword.exited).resolves.toBe(1);
    expect(wrongPassword.output()).toMatch(/Authorization Violation/i);
    expect(wrongPassword.output()).not.toContain('guessed');

    const outputs = () =>
      `worker output:\n${honestA.output()}\n${honestB.output()}\nnats-server:\n${nats!.output()}`;
    const workers = await until(async () => {
      const res = await request(server)
        .get('/api/gekko/gpu/workers')
        .set('Authorization', user);
      return res.body.items?.length === 2 && res.body.items;
    }, 'the two honest workers').catch(error => {
      throw new Error(`${error.message}\n${outputs()}`);
    });
    expect(
      workers.map((w: { id: string; pool: string }) => [w.id, w.pool]).sort(),
    ).toEqual([
      ['gpu-a1', 'cuda-primary'],
      ['gpu-b1', 'cuda-secondary'],
    ]);
    await until(async () => {
      const res = await request(server)
        .get('/api/gekko/inference/models/nhits-price/versions/1')
        .set('Authorization', user);
      return res.body.placements?.length === 1;
    }, 'the model on gpu-a1').catch(error => {
      throw new Error(`${error.message}\n${outputs()}`);
    });
    const predict = () =>
      request(server)
        .post('/api/gekko/inference/models/nhits-price/predict')
        .set('Authorization', user)
        .send({ inputs: windows(2) });
    const first = await predict();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      pool: 'cuda-primary',
      worker: 'gpu-a1',
      outputs: { forecast: { shape: [2, 12] } },
    });

    // gpu-a1's identity, on its own subject, claiming to be a worker of cuda-secondary: three
    // times; the control plane refuses all, audits the first.
    const liar = await connectNats({
      servers: nats.url,
      auth: { nkeySeedFile: seedA1 },
      tls: {
        caFile: certs.caFile,
        certFile: certs.clientCertFile,
        keyFile: certs.clientKeyFile,
      },
    });
    const lie = {
      worker: {
        id: 'gpu-a1',
        pool: 'cuda-secondary',
        transport: 'nats',
        host: 'elsewhere',
        pid: 1,
        startedAt: new Date().toISOString(),
      },
      seq: 1,
      heartbeat: {
        timestamp: new Date().toISOString(),
        acceleratorKind: 'cuda',
        devices: [],
        loadedModels: [],
        queueDepth: 0,
        requestsPerSecond: 0,
        rowsPerSecond: 0,
        latencyMs: {},
      },
    };
    for (let i = 0; i < 3; i++) {
      liar.publish('gekko.heartbeat.cuda-primary.gpu-a1', JSON.stringify(lie));
    }
    await liar.flush();

    const denied = await until(async () => {
      const res = await request(server)
        .get('/api/gekko/audit/records')
        .query({ action: 'worker.join', outcome: 'denied' })
        .set('Authorization', user);
      return res.body.items?.length > 0 && res.body.items;
    }, 'the audit record of the refusal');
    expect(denied).toEqual([
      expect.objectContaining({
        actor: 'worker:cuda-primary/gpu-a1',
        action: 'worker.join',
        target: 'resource:default/cuda-secondary',
        outcome: 'denied',
        details: expect.objectContaining({
          subject: 'gekko.heartbeat.cuda-primary.gpu-a1',
          subjectPool: 'cuda-primary',
          subjectId: 'gpu-a1',
          claimedPool: 'cuda-secondary',
          claimedId: 'gpu-a1',
        }),
      }),
    ]);
    const metrics = await until(async () => {
      const res = await request(server)
        .get('/api/gekko/metrics')
        .set('Authorization', user);
      return (
        /gekko_worker_heartbeats_refused_total\{pool="cuda-primary"\} 3\b/.test(
          res.text,
        ) && res.text
      );
    }, 'three refusals counted');
    refusalMetrics = metrics;
    await liar.close();

    // Still one record, the liar is not registered anywhere, and the honest workers serve.
    const records = await request(server)
      .get('/api/gekko/audit/records')
      .query({ action: 'worker.join' })
      .set('Authorization', user);
    expect(records.body.items).toHaveLength(1);
    const after = await request(server)
      .get('/api/gekko/gpu/workers')
      .set('Authorization', user);
    expect(
      after.body.items.map((w: { id: string; pool: string }) => [w.id, w.pool]),
    ).toEqual(
      expect.arrayContaining([
        ['gpu-a1', 'cuda-primary'],
        ['gpu-b1', 'cuda-secondary'],
      ]),
    );
    expect(after.body.items).toHaveLength(2);
    const again = await predict();
    expect(again.status).toBe(200);
    expect(again.body.worker).toBe('gpu-a1');
  });

  itWithPromtool('exposes the refusal counter as promtool accepts it', () => {
    expect(refusalMetrics).toBeDefined();
    // Exits non-zero on any error or lint problem of the exposition.
    execFileSync(promtool!, ['check', 'metrics'], { input: refusalMetrics });
  });
});
