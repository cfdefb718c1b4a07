import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Knex } from 'knex';
import request from 'supertest';
import { defaultEmbeddedMode } from '../gpu/EmbeddedWorkers';
import { gekkoPlugin } from '../plugin';
import { until } from '../__testUtils__/until';
import { findTestBinary } from '../__testUtils__/binaries';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const promtool = findTestBinary(
  'promtool',
  "promtool check metrics of the portal's /metrics",
);
/** `it`, or `it.skip` where promtool is missing: the check then counts as skipped, not passed. */
const itWithPromtool = promtool ? it : it.skip;
const repoModels = path.resolve(__dirname, '../../../../models');

const pools = [
  {
    name: 'cpu-dr',
    title: 'CPU — DR',
    accelerator: 'cpu',
    region: 'dr',
    capacity: { devices: 0, memoryGiB: 64 },
    owner: 'group:default/platform',
  },
  {
    name: 'cuda-primary',
    title: 'CUDA — primary',
    accelerator: 'cuda',
    region: 'primary',
    capacity: { devices: 8, memoryGiB: 640 },
    owner: 'group:default/platform',
  },
];

const nhits = {
  name: 'nhits-price',
  version: '1',
  artifact: 'nhits-price/1/model.onnx',
  pools: ['cpu-dr'],
  maxBatchSize: 64,
  maxQueueDelayMs: 1,
};

const user = mockCredentials.user.header('user:default/ava');

async function startBackend(
  knex: Knex,
  options: {
    workers?: number;
    /** Where the embedded workers run; unset: as the host's cores decide (auto). */
    mode?: 'threads' | 'in-process';
    /** Heartbeat interval; a worker silent for 3 of them is dropped. Default 200 ms. */
    heartbeatIntervalMs?: number;
    deny?: boolean;
    modelsDir?: string;
    dataPlane?: boolean;
  } = {},
) {
  const { server } = await startTestBackend({
    features: [
      gekkoPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          gekko: {
            gpuPools: pools,
            gpu: {
              heartbeatIntervalMs: options.heartbeatIntervalMs ?? 200,
              chaos: { enabled: true },
            },
            inference: {
              modelsDir: options.modelsDir ?? repoModels,
              embedded: {
                workers: options.workers ?? 2,
                pool: 'cpu-dr',
                ...(options.mode ? { mode: options.mode } : {}),
              },
              ...(options.dataPlane ? { dataPlane: { port: 0 } } : {}),
              models: [nhits],
            },
          },
        },
      }),
      mockServices.events.factory(),
      ...(options.deny
        ? [mockServices.permissions.factory({ result: AuthorizeResult.DENY })]
        : []),
    ],
  });
  return server;
}

type Server = Awaited<ReturnType<typeof startBackend>>;

/** Waits until `count` workers have the shipped model loaded. */
async function modelReady(server: Server, count: number) {
  await until(async () => {
    const res = await request(server)
      .get('/api/gekko/inference/models/nhits-price/versions/1')
      .set('Authorization', user);
    return res.body.placements?.length >= count;
  }, `${count} workers with nhits-price loaded`);
}

function windows(rows: number, offset = 0): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from(
      { length: 120 },
      (_v, i) => 100 + Math.sin((i + r + offset) / 9) + i * 0.01,
    ),
  );
}

const predict = (server: Server, body: unknown, name = 'nhits-price') =>
  request(server)
    .post(`/api/gekko/inference/models/${name}/predict`)
    .set('Authorization', user)
    .send(body as object);

describeEachDatabase(databases)('inference on %s', databaseId => {
  let knex: Knex;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
  });

  it('serves the shipped model from embedded workers, in JSON and in binary', async () => {
    const server = await startBackend(knex);
    await modelReady(server, 2);

    const workers = await request(server)
      .get('/api/gekko/gpu/workers?pool=cpu-dr')
      .set('Authorization', user);
    expect(workers.status).toBe(200);
    expect(workers.body.items).toHaveLength(2);
    expect(workers.body.items[0]).toMatchObject({
      pool: 'cpu-dr',
      // Worker threads, or on the event loop where the host has 2 cores or fewer.
      transport: defaultEmbeddedMode() === 'threads' ? 'thread' : 'in-process',
      acceleratorKind: 'cpu',
      state: 'ready',
      models: [{ name: 'nhits-price', version: '1', provider: 'cpu' }],
    });

    const json = await predict(server, { inputs: windows(3) });
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({
      model: 'nhits-price',
      version: '1',
      pool: 'cpu-dr',
      provider: 'cpu',
      attempts: 1,
      worker: expect.stringMatching(/^embedded-cpu-dr-/),
    });
    expect(json.body.outputs.forecast.shape).toEqual([3, 12]);
    const forecast: number[] = json.body.outputs.forecast.data;
    expect(forecast).toHaveLength(36);
    // A forecast of prices around 100, not garbage.
    expect(forecast.every(v => v > 90 && v < 110)).toBe(true);

    // The same rows as binary float32, answered in binary: the same numbers.
    const input = Float32Array.from(windows(3).flat());
    const binary = await request(server)
      .post('/api/gekko/inference/models/nhits-price/predict')
      .set('Authorization', user)
      .set('Content-Type', 'application/octet-stream')
      .set('Accept', 'application/octet-stream')
      .set('x-gekko-shape', '3,120')
      .send(Buffer.from(input.buffer))
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(binary.status).toBe(200);
    expect(JSON.parse(binary.headers['x-gekko-outputs'])).toEqual([
      { name: 'forecast', shape: [3, 12] },
    ]);
    const body = binary.body as Buffer;
    const out = new Float32Array(
      body.buffer.slice(body.byteOffset, body.byteOffset + body.length),
    );
    expect(Array.from(out)).toEqual(forecast.map(v => Math.fround(v)));

    // A request batched with others gives the same answer as alone.
    const alone = await predict(server, { inputs: windows(1, 5) });
    const together = await Promise.all(
      Array.from({ length: 16 }, (_, k) =>
        predict(server, { inputs: windows(1, k) }),
      ),
    );
    expect(together[5].body.outputs.forecast.data).toEqual(
      alone.body.outputs.forecast.data,
    );
  });

  it('rejects bad predict requests with a 4xx that names the problem', async () => {
    const server = await startBackend(knex, { workers: 1 });
    await modelReady(server, 1);
    const cases: Array<[string, () => request.Test, number, RegExp]> = [
      [
        'unknown model',
        () => predict(server, { inputs: windows(1) }, 'nope'),
        404,
        /No model named nope/,
      ],
      [
        'bad model name',
        () => predict(server, { inputs: windows(1) }, 'No_Pe'),
        400,
        /name: must be a model name/,
      ],
      [
        'wrong width',
        () => predict(server, { inputs: [[1, 2, 3]] }),
        400,
        /expects shape \[rows, 120\], got \[1, 3\]/,
      ],
      [
        'ragged rows',
        () => predict(server, { inputs: [windows(1)[0], [1, 2]] }),
        400,
        /inputs\.1: has 2 values, but row 0 has 120/,
      ],
      [
        'too many rows',
        () => predict(server, { inputs: windows(65) }),
        413,
        /65 rows is more than .* \(maxBatchSize 64\)/,
      ],
      ['no inputs', () => predict(server, {}), 400, /give either inputs/],
      [
        'both forms',
        () => predict(server, { inputs: windows(1), data: [1], shape: [1, 1] }),
        400,
        /give either inputs/,
      ],
      [
        'data without shape',
        () => predict(server, { data: [1, 2] }),
        400,
        /shape: is required with data/,
      ],
      [
        'data of the wrong length',
        () => predict(server, { data: [1, 2, 3], shape: [1, 120] }),
        400,
        /needs 120 values, got 3/,
      ],
      [
        'strings',
        () => predict(server, { inputs: [['a']] }),
        400,
        /inputs\.0\.0: Expected number/,
      ],
      [
        'unknown field',
        () => predict(server, { inputs: windows(1), foo: 1 }),
        400,
        /foo: unknown field/,
      ],
      [
        'unknown version',
        () => predict(server, { inputs: windows(1), version: '9' }),
        400,
        /has no version 9/,
      ],
      [
        'bad deadline',
        () => predict(server, { inputs: windows(1), deadlineMs: -5 }),
        400,
        /deadlineMs/,
      ],
      [
        'malformed JSON',
        () =>
          request(server)
            .post('/api/gekko/inference/models/nhits-price/predict')
            .set('Authorization', user)
            .set('Content-Type', 'application/json')
            .send('{"inputs": [[1,'),
        400,
        /Malformed JSON body/,
      ],
      [
        'text body',
        () =>
          request(server)
            .post('/api/gekko/inference/models/nhits-price/predict')
            .set('Authorization', user)
            .set('Content-Type', 'text/plain')
            .send('1,2,3'),
        415,
        /application\/octet-stream float32 with an x-gekko-shape header/,
      ],
      [
        'binary without shape',
        () =>
          request(server)
            .post('/api/gekko/inference/models/nhits-price/predict')
            .set('Authorization', user)
            .set('Content-Type', 'application/octet-stream')
            .send(Buffer.alloc(480)),
        400,
        /x-gekko-shape: required/,
      ],
      [
        'binary of the wrong length',
        () =>
          request(server)
            .post('/api/gekko/inference/models/nhits-price/predict')
            .set('Authorization', user)
            .set('Content-Type', 'application/octet-stream')
            .set('x-gekko-shape', '2,120')
            .send(Buffer.alloc(480)),
        400,
        /needs 960 bytes of little-endian float32, got 480/,
      ],
    ];
    for (const [what, send, status, message] of cases) {
      const res = await send();
      expect({ what, status: res.status }).toEqual({ what, status });
      expect({ what, message: res.body.error?.message }).toEqual({
        what,
        message: expect.stringMatching(message),
      });
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
    }
    // Still serving after all that.
    expect((await predict(server, { inputs: windows(1) })).status).toBe(200);
  });

  it('registers, deploys, splits traffic and undeploys model versions, each change audited', async () => {
    const server = await startBackend(knex, { workers: 1 });
    await modelReady(server, 1);

    const registered = await request(server)
      .post('/api/gekko/inference/models')
      .set('Authorization', user)
      .send({ ...nhits, version: '2', description: 'canary' });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({
      name: 'nhits-price',
      version: '2',
      state: 'registered',
      weight: 0,
      inputs: [{ name: 'window', shape: [-1, 120], dtype: 'float32' }],
      outputs: [{ name: 'forecast', shape: [-1, 12], dtype: 'float32' }],
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const again = await request(server)
      .post('/api/gekko/inference/models')
      .set('Authorization', user)
      .send({ ...nhits, version: '2' });
    expect(again.status).toBe(409);

    // Not deployed yet: asking for it explicitly is a conflict, not a 5xx.
    expect(
      (await predict(server, { inputs: windows(1), version: '2' })).status,
    ).toBe(409);

    const deployed = await request(server)
      .put('/api/gekko/inference/models/nhits-price/versions/2/deployment')
      .set('Authorization', user)
      .send({ weight: 50 });
    expect(deployed.status).toBe(200);
    expect(deployed.body).toMatchObject({ state: 'deployed', weight: 50 });
    expect(deployed.body.placements).toHaveLength(1);

    const traffic = await request(server)
      .put('/api/gekko/inference/models/nhits-price/traffic')
      .set('Authorization', user)
      .send({ weights: { '1': 75, '2': 25 } });
    expect(traffic.status).toBe(200);
    const served = { '1': 0, '2': 0 } as Record<string, number>;
    for (let i = 0; i < 200; i++) {
      const res = await predict(server, { inputs: windows(1) });
      served[res.body.version] += 1;
    }
    // 75/25 over 200 draws: 2 falls outside 25–85 with a probability below 1e-6.
    expect(served['2']).toBeGreaterThan(25);
    expect(served['2']).toBeLessThan(85);

    const badSplit = await request(server)
      .put('/api/gekko/inference/models/nhits-price/traffic')
      .set('Authorization', user)
      .send({ weights: { '1': 50, '7': 50 } });
    expect(badSplit.status).toBe(400);
    expect(badSplit.body.error.message).toMatch(/weights\.7: no such version/);

    const undeployed = await request(server)
      .delete('/api/gekko/inference/models/nhits-price/versions/2/deployment')
      .set('Authorization', user);
    expect(undeployed.status).toBe(200);
    expect(undeployed.body).toMatchObject({ state: 'registered', weight: 0 });
    await until(async () => {
      const res = await request(server)
        .get('/api/gekko/gpu/workers')
        .set('Authorization', user);
      return res.body.items[0].models.length === 1;
    }, 'version 2 unloaded from the worker');
    for (let i = 0; i < 10; i++) {
      expect((await predict(server, { inputs: windows(1) })).body.version).toBe(
        '1',
      );
    }

    const badRegistrations: Array<[object, RegExp]> = [
      [
        { ...nhits, version: '3', artifact: 'missing/model.onnx' },
        /no file missing\/model.onnx in the models folder/,
      ],
      [
        { ...nhits, version: '3', artifact: '../etc/passwd.onnx' },
        /artifact: must be a path inside the models folder/,
      ],
      [
        { ...nhits, version: '3', pools: ['atlantis'] },
        /pools\.0: no GPU pool named atlantis/,
      ],
      [
        { ...nhits, version: '3', artifact: 'nhits-price/1/model.json' },
        /artifact: must name an \.onnx file/,
      ],
      [{ ...nhits, version: 'bad version' }, /version: must be letters/],
    ];
    for (const [body, message] of badRegistrations) {
      const res = await request(server)
        .post('/api/gekko/inference/models')
        .set('Authorization', user)
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }

    const actions = (
      await knex('gekko_audit_records')
        .orderBy('seq')
        .select('action', 'actor', 'outcome', 'target')
    ).filter(r => r.action.startsWith('model.'));
    expect(actions).toEqual([
      {
        action: 'model.register',
        actor: 'plugin:gekko',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.deploy',
        actor: 'plugin:gekko',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.register',
        actor: 'user:default/ava',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.register',
        actor: 'user:default/ava',
        outcome: 'failure',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.deploy',
        actor: 'user:default/ava',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.traffic',
        actor: 'user:default/ava',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
      {
        action: 'model.undeploy',
        actor: 'user:default/ava',
        outcome: 'success',
        target: 'resource:default/cpu-dr',
      },
    ]);
    const verify = await request(server)
      .get('/api/gekko/audit/verify')
      .set('Authorization', user);
    expect(verify.body.valid).toBe(true);
  });

  it('answers 403 and records the denial when the policy says no', async () => {
    const server = await startBackend(knex, { workers: 0, deny: true });
    const res = await predict(server, { inputs: windows(1) });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/gekko\.inference\.invoke/);
    const register = await request(server)
      .post('/api/gekko/inference/models')
      .set('Authorization', user)
      .send({ ...nhits, version: '2' });
    expect(register.status).toBe(403);
    const denied = await knex('gekko_audit_records').where({
      outcome: 'denied',
    });
    expect(denied.map(r => r.action).sort()).toEqual([
      'inference.invoke',
      'model.register',
    ]);
    expect(
      (
        await request(server)
          .post('/api/gekko/inference/models/nhits-price/predict')
          .set('Authorization', mockCredentials.none.header())
          .send({ inputs: windows(1) })
      ).status,
    ).toBe(401);
  });

  it('serves predict on the data plane port too, with the same answers, errors and security', async () => {
    const server = await startBackend(knex, { workers: 1, dataPlane: true });
    await modelReady(server, 1);
    const where = await request(server)
      .get('/api/gekko/inference/data-plane')
      .set('Authorization', user);
    expect(where.status).toBe(200);
    const url = `${where.body.url}/api/gekko/inference/models/nhits-price/predict`;
    const token = mockCredentials.user.token('user:default/ava');
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...headers,
        },
        body,
      });

    const viaPortal = await predict(server, { inputs: windows(2) });
    const direct = await post(JSON.stringify({ inputs: windows(2) }), {
      'x-request-id': 'trace-42',
    });
    expect(direct.status).toBe(200);
    // The caller's request id comes back, as on the portal; a new one otherwise.
    expect(direct.headers.get('x-request-id')).toBe('trace-42');
    const answer = await direct.json();
    expect(answer).toMatchObject({
      model: 'nhits-price',
      version: '1',
      attempts: 1,
    });
    expect(answer.outputs).toEqual(viaPortal.body.outputs);

    const binary = await post(
      Buffer.from(Float32Array.from(windows(2).flat()).buffer),
      {
        'content-type': 'application/octet-stream',
        'x-gekko-shape': '2,120',
        accept: 'application/octet-stream',
      },
    );
    expect(binary.status).toBe(200);
    expect(binary.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const floats = new Float32Array(await binary.arrayBuffer());
    expect(Array.from(floats)).toEqual(
      viaPortal.body.outputs.forecast.data.map((v: number) => Math.fround(v)),
    );

    const failures: Array<[Promise<Response>, number, RegExp]> = [
      [
        fetch(url, { method: 'POST', body: '{}' }),
        401,
        /Authorization: Bearer/,
      ],
      [
        fetch(url, {
          method: 'POST',
          headers: { authorization: 'Bearer not-a-token' },
          body: '{}',
        }),
        401,
        /./,
      ],
      [
        post(JSON.stringify({ inputs: [[1, 2]] })),
        400,
        /expects shape \[rows, 120\], got \[1, 2\]/,
      ],
      [post('{"inputs": ['), 400, /Malformed JSON body/],
      [
        post('1,2', { 'content-type': 'text/csv' }),
        415,
        /application\/octet-stream/,
      ],
      [post(JSON.stringify({ inputs: windows(65) })), 413, /maxBatchSize 64/],
      [
        post(Buffer.alloc(17 * 1024 * 1024), {
          'content-type': 'application/octet-stream',
          'x-gekko-shape': '1,120',
        }),
        413,
        /16 MiB limit/,
      ],
      [
        fetch(url.replace('nhits-price/predict', 'nope/predict'), {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ inputs: windows(1) }),
        }),
        404,
        /No model named nope/,
      ],
      [
        fetch(`${where.body.url}/api/gekko/pools`, {
          headers: { authorization: `Bearer ${token}` },
        }),
        404,
        /serves only POST/,
      ],
      [
        fetch(url, { headers: { authorization: `Bearer ${token}` } }),
        405,
        /Use POST/,
      ],
    ];
    for (const [pending, status, message] of failures) {
      const res = await pending;
      const body = await res.json();
      expect({ status: res.status, message: body.error.message }).toEqual({
        status,
        message: expect.stringMatching(message),
      });
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
    // Still serving.
    expect((await post(JSON.stringify({ inputs: windows(1) }))).status).toBe(
      200,
    );
  });

  it('refuses the data plane to callers the policy denies, and records each denial', async () => {
    const server = await startBackend(knex, {
      workers: 0,
      deny: true,
      dataPlane: true,
    });
    const where = await request(server)
      .get('/api/gekko/inference/data-plane')
      .set('Authorization', user);
    const res = await fetch(
      `${where.body.url}/api/gekko/inference/models/nhits-price/predict`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${mockCredentials.user.token(
            'user:default/eve',
          )}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ inputs: windows(1) }),
      },
    );
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toMatch(
      /gekko\.inference\.invoke/,
    );
    expect(
      await knex('gekko_audit_records')
        .where({ outcome: 'denied' })
        .select('actor', 'action'),
    ).toEqual([{ actor: 'user:default/eve', action: 'inference.invoke' }]);
  });

  it.each(['threads', 'in-process'] as const)(
    'loses no request when an embedded worker dies under load (%s)',
    async mode => {
      // A 1 s heartbeat: under this load on 2 cores, a live thread can miss 600 ms of heartbeats and
      // be dropped, which is not what this test is about (the crash is seen at once, by the exit).
      const server = await startBackend(knex, {
        workers: 3,
        heartbeatIntervalMs: 1000,
        mode,
      });
      await modelReady(server, 3);
      let stop = false;
      const results: number[] = [];
      const workersSeen = new Set<string>();
      const client = async (k: number) => {
        while (!stop) {
          const res = await predict(server, { inputs: windows(4, k) });
          results.push(res.status);
          if (res.status === 200) workersSeen.add(res.body.worker);
        }
      };
      const clients = Array.from({ length: 16 }, (_, k) => client(k));
      await until(async () => results.length > 200, 'load to build up');
      const victim = [...workersSeen][0];
      const crash = await request(server)
        .post(`/api/gekko/gpu/workers/${encodeURIComponent(victim)}/crash`)
        .set('Authorization', user);
      expect(crash.status).toBe(202);
      const atCrash = results.length;
      await until(
        async () => results.length > atCrash + 500,
        'load after the crash',
      );
      stop = true;
      await Promise.all(clients);
      expect(results.filter(s => s !== 200)).toEqual([]);
      // The supervisor starts the dead worker again, and it rejoins.
      await modelReady(server, 3);
    },
  );
});

describeEachDatabase(databases)('GPU telemetry on %s', databaseId => {
  /** The exposition the first test read, for the promtool check after it. */
  let metricsText: string | undefined;

  it('serves live and per-minute history, and Prometheus metrics', async () => {
    const knex = await databases.init(databaseId);
    const server = await startBackend(knex, { workers: 1 });
    await modelReady(server, 1);
    for (let i = 0; i < 5; i++) await predict(server, { inputs: windows(2) });

    const live = await until(async () => {
      const res = await request(server)
        .get('/api/gekko/gpu/utilization?pool=cpu-dr&range=15m')
        .set('Authorization', user);
      return res.body.series?.[0]?.points.length >= 3 && res.body;
    }, 'three live points');
    expect(live).toMatchObject({
      range: '15m',
      stepSeconds: 1,
      pool: 'cpu-dr',
    });
    expect(live.series[0]).toMatchObject({
      workerId: 'embedded-cpu-dr-1',
      acceleratorKind: 'cpu',
    });
    expect(typeof live.series[0].points[0].utilizationPercent).toBe('number');

    const day = await request(server)
      .get('/api/gekko/gpu/utilization?pool=cpu-dr&range=24h')
      .set('Authorization', user);
    expect(day.body).toMatchObject({ range: '24h', stepSeconds: 60 });
    expect(day.body.series[0].points.length).toBeGreaterThanOrEqual(1);

    const bad = await request(server)
      .get('/api/gekko/gpu/utilization?range=1y')
      .set('Authorization', user);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/range/);

    const capacity = await request(server)
      .get('/api/gekko/gpu/capacity')
      .set('Authorization', user);
    expect(capacity.body.items).toEqual([
      expect.objectContaining({
        pool: 'cpu-dr',
        workers: 1,
        readyWorkers: 1,
      }),
    ]);

    const metrics = await request(server)
      .get('/api/gekko/metrics')
      .set('Authorization', user);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(
      /gekko_inference_requests_total\{model="nhits-price",version="1",pool="cpu-dr",outcome="success"\} [5-9]/,
    );
    expect(metrics.text).toMatch(
      /gekko_inference_queue_duration_seconds_bucket/,
    );
    expect(metrics.text).toMatch(
      /gekko_worker_up\{.*worker="embedded-cpu-dr-1".*\} 1/,
    );
    // The portal's own health: its API by route, its audit appends, its alert evaluations.
    expect(metrics.text).toMatch(
      /gekko_http_request_duration_seconds_count\{route="\/api\/gekko\/gpu\/capacity",method="GET",code="200"\} 1/,
    );
    expect(metrics.text).toMatch(
      /gekko_audit_appends_total\{outcome="success"\} \d/,
    );
    expect(metrics.text).toMatch(
      /gekko_alert_evaluations_total\{outcome="success"\} \d/,
    );
    metricsText = metrics.text;
  });

  itWithPromtool('serves metrics that promtool check metrics accepts', () => {
    expect(metricsText).toBeDefined();
    // promtool reads the exposition on stdin and exits non-zero on any error or lint problem.
    execFileSync(promtool!, ['check', 'metrics'], { input: metricsText });
  });
});
