import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { makeMlpModel } from '@gekko/worker';
import { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import { inferenceGatewayEntity } from './__testUtils__/inferenceGatewayEntity';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');
const entityRef = 'component:default/inference-gateway';

/** The catalog the deployments are checked against: the service, and one that deploys elsewhere. */
const catalogEntities = [
  inferenceGatewayEntity,
  {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: 'order-execution',
      namespace: 'default',
      annotations: { 'gekko.io/deployment-target': 'kubernetes' },
    },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/trading-ops',
    },
  },
];

type Server = Awaited<ReturnType<typeof startTestBackend>>;

async function startBackend(
  knex: Knex,
  modelsDir: string,
  options: { deny?: boolean; workers?: number } = {},
): Promise<Server> {
  return startTestBackend({
    features: [
      gekkoPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: { gekko: mlpGekkoConfig(modelsDir, options.workers ?? 1) },
      }),
      catalogServiceMock.factory({ entities: catalogEntities }),
      mockServices.events.factory(),
      ...(options.deny
        ? [mockServices.permissions.factory({ result: AuthorizeResult.DENY })]
        : []),
    ],
  });
}

/** Sends predictions to the model (or to one version of it) until stopped, as live traffic would. */
function trafficTo(server: Server['server'], version?: string) {
  let running = true;
  const row = Array.from({ length: 8 }, (_, i) => i / 8);
  const loop = (async () => {
    while (running) {
      await request(server)
        .post('/api/gekko/inference/models/mlp/predict')
        .set('Authorization', user)
        .send({ inputs: [row], ...(version ? { version } : {}) });
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

async function weights(server: Server['server']) {
  const res = await request(server)
    .get('/api/gekko/inference/models/mlp')
    .set('Authorization', user);
  return Object.fromEntries(
    res.body.items.map((v: any) => [v.version, `${v.state} ${v.weight}`]),
  );
}

/** The workers each version of `mlp` is loaded on now. */
async function placements(server: Server['server']) {
  const res = await request(server)
    .get('/api/gekko/inference/models/mlp')
    .set('Authorization', user);
  return Object.fromEntries(
    res.body.items.map((v: any) => [
      v.version,
      v.placements.map((p: any) => p.workerId).sort(),
    ]),
  );
}

async function finished(server: Server['server'], id: string) {
  return until(
    async () => {
      const res = await request(server)
        .get(`/api/gekko/deployments/${id}`)
        .set('Authorization', user);
      return ['succeeded', 'rolled_back', 'failed'].includes(res.body.state)
        ? res.body
        : undefined;
    },
    `deployment ${id} to end`,
    120_000,
  );
}

/** Asks for the rollback of deployment `id`, which ends rolled back with version 1 alone serving. */
async function rollsBackToVersion1(server: Server['server'], id: string) {
  const rollback = await request(server)
    .post(`/api/gekko/deployments/${id}/rollback`)
    .set('Authorization', user);
  expect(rollback.status).toBe(202);
  expect((await finished(server, id)).state).toBe('rolled_back');
  expect(await weights(server)).toEqual({
    '1': 'deployed 100',
    '2': 'registered 0',
  });
}

const canary = {
  entityRef,
  target: 'gpu-pool',
  strategy: 'canary',
  spec: { model: 'mlp', version: '2' },
  steps: [50, 100],
  pauseMs: 0,
  analysis: { maxP99Ms: 5_000, minSamples: 10, timeoutMs: 60_000 },
};

describeEachDatabase(databases)('deployments on %s', databaseId => {
  let knex: Knex;
  let modelsDir: string;
  let backend: Server;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
    modelsDir = twoModelVersions();
    backend = await startBackend(knex, modelsDir);
    await modelLoaded(backend.server, user);
  });

  afterEach(async () => {
    await backend.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('lists the built-in model target', async () => {
    const res = await request(backend.server)
      .get('/api/gekko/deployments/targets')
      .set('Authorization', user);
    expect(res.body.items).toEqual([
      {
        name: 'gpu-pool',
        title: 'Model versions on GPU pools',
        strategies: ['canary', 'blue-green', 'rolling'],
      },
    ]);
  });

  it('answers a dry run with the validation table and the plan, and changes nothing', async () => {
    const before = await weights(backend.server);
    const res = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({ ...canary, dryRun: true });

    expect(res.status).toBe(200);
    expect(res.body.valid).toBe(true);
    expect(res.body.plan.map((s: any) => s.weight)).toEqual([50, 100]);
    expect(new Set(res.body.checks.map((c: any) => c.category))).toEqual(
      new Set(['security', 'software', 'network', 'hardware']),
    );
    expect(res.body.checks[0]).toEqual({
      name: 'the caller may deploy to this entity',
      category: 'security',
      passed: true,
      evidence: `user:default/ava holds gekko.deployment.create on ${entityRef} (the permission policy, asked when the deployment was requested)`,
    });
    expect(res.body.checks.every((c: any) => c.passed)).toBe(true);
    expect(await weights(backend.server)).toEqual(before);
    expect(await knex('gekko_deployments')).toEqual([]);
  });

  it('rolls a canary out step by step, then rolls it back on request, twice harmlessly', async () => {
    const stop = trafficTo(backend.server);
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send(canary);
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({
      state: 'pending',
      createdBy: 'user:default/ava',
    });
    const done = await finished(backend.server, created.body.id);
    await stop();

    expect(done.state).toBe('succeeded');
    expect(done.snapshot.state.versions).toEqual([
      { version: '1', state: 'deployed', weight: 100, pools: ['cpu-dr'] },
      { version: '2', state: 'registered', weight: 0, pools: ['cpu-dr'] },
    ]);
    expect(done.events.map((e: any) => e.state)).toEqual([
      'validating',
      'preparing',
      'activating',
      'verifying',
      'activating',
      'verifying',
      'succeeded',
    ]);
    const verdicts = done.events.filter((e: any) => e.kind === 'analysis');
    expect(verdicts).toHaveLength(2);
    expect(verdicts[0].evidence).toMatchObject({
      verdict: 'pass',
      measurements: expect.arrayContaining([
        expect.objectContaining({ name: 'p99 latency', passed: true }),
        expect.objectContaining({ name: 'error rate', value: 0, passed: true }),
      ]),
    });
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 0',
      '2': 'deployed 100',
    });

    await rollsBackToVersion1(backend.server, created.body.id);
    const again = await request(backend.server)
      .post(`/api/gekko/deployments/${created.body.id}/rollback`)
      .set('Authorization', user);
    expect(again.body.state).toBe('rolled_back');
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
    });

    const audit = await knex('gekko_audit_records')
      .where({ target: entityRef })
      .orderBy('seq');
    expect(audit.map(r => r.action)).toEqual(
      expect.arrayContaining([
        'deployment.create',
        'deployment.succeeded',
        'deployment.rollback',
        'deployment.rolled_back',
      ]),
    );
    const verify = await request(backend.server)
      .get('/api/gekko/audit/verify')
      .set('Authorization', user);
    expect(verify.body.valid).toBe(true);
  });

  it('releases blue-green: the new version loaded with no traffic, judged on explicit requests, switched at once, the old one unloaded after the scale-down delay', async () => {
    const live = trafficTo(backend.server);
    const preview = trafficTo(backend.server, '2');
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({
        ...canary,
        strategy: 'blue-green',
        steps: undefined,
        spec: { ...canary.spec, scaleDownDelayMs: 3_000 },
      });
    expect(created.status).toBe(202);
    expect(created.body.plan.map((s: any) => [s.weight, s.name])).toEqual([
      [0, 'load the new version with no traffic'],
      [100, 'switch all traffic to it'],
      [100, 'unload the versions it replaced after 3 s'],
    ]);
    // During the scale-down delay the old version has no traffic but is still loaded.
    await until(
      async () =>
        (await knex('gekko_deployments').first()).step === 2 || undefined,
      'the scale-down step',
      60_000,
    );
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 0',
      '2': 'deployed 100',
    });
    expect(await placements(backend.server)).toEqual({
      '1': ['embedded-cpu-dr-1'],
      '2': ['embedded-cpu-dr-1'],
    });
    const done = await finished(backend.server, created.body.id);
    await live();
    await preview();

    expect({ state: done.state, reason: done.reason }).toEqual({
      state: 'succeeded',
      reason: undefined,
    });
    const first = done.events.find((e: any) => e.kind === 'analysis');
    // During the preview all live traffic stayed on version 1; version 2 saw only explicit requests.
    expect(first.evidence.evidence.canary.attempts).toBeGreaterThanOrEqual(10);
    expect(first.evidence.evidence.baseline.attempts).toBeGreaterThan(0);
    const scaleDown = done.events.find(
      (e: any) => e.kind === 'step' && e.step === 2,
    );
    const switched = done.events.find(
      (e: any) => e.kind === 'step' && e.step === 1,
    );
    expect(
      Date.parse(scaleDown.time) - Date.parse(switched.time),
    ).toBeGreaterThanOrEqual(3_000);
    expect(await weights(backend.server)).toEqual({
      '1': 'registered 0',
      '2': 'deployed 100',
    });
    expect(await placements(backend.server)).toEqual({
      '1': [],
      '2': ['embedded-cpu-dr-1'],
    });

    // A rollback after the scale-down loads the old version again before it takes the traffic back.
    await rollsBackToVersion1(backend.server, created.body.id);
    expect(await placements(backend.server)).toEqual({
      '1': ['embedded-cpu-dr-1'],
      '2': [],
    });
  });

  it('rolls out worker by worker: each step moves one worker and its share of the traffic, then rolls back on request', async () => {
    await backend.stop();
    backend = await startBackend(knex, modelsDir, { workers: 2 });
    await until(
      async () =>
        (await placements(backend.server))['1']?.length === 2 || undefined,
      'mlp@1 loaded on both workers',
      60_000,
    );
    const stop = trafficTo(backend.server);
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({
        ...canary,
        strategy: 'rolling',
        steps: undefined,
        pauseMs: 2_000,
      });
    expect(created.status).toBe(202);
    expect(created.body.plan.map((s: any) => [s.weight, s.name])).toEqual([
      [
        50,
        'switch worker 1 of 2 to the new version, with its share of the traffic',
      ],
      [
        100,
        'switch worker 2 of 2 to the new version, with its share of the traffic',
      ],
    ]);
    // After the first step each version is served by its own worker, with half the traffic.
    await until(
      async () => {
        const row = await knex('gekko_deployments').first();
        return (row.state === 'verifying' && row.step === 0) || undefined;
      },
      'the first step applied',
      60_000,
    );
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 50',
      '2': 'deployed 50',
    });
    expect(await placements(backend.server)).toEqual({
      '1': ['embedded-cpu-dr-2'],
      '2': ['embedded-cpu-dr-1'],
    });
    const done = await finished(backend.server, created.body.id);
    await stop();

    expect({ state: done.state, reason: done.reason }).toEqual({
      state: 'succeeded',
      reason: undefined,
    });
    const verdicts = done.events.filter((e: any) => e.kind === 'analysis');
    expect(verdicts.map((v: any) => v.evidence.verdict)).toEqual([
      'pass',
      'pass',
    ]);
    expect(
      verdicts[0].evidence.evidence.canary.attempts,
    ).toBeGreaterThanOrEqual(10);
    expect(verdicts[0].evidence.evidence.baseline.attempts).toBeGreaterThan(0);
    expect(await weights(backend.server)).toEqual({
      '1': 'registered 0',
      '2': 'deployed 100',
    });
    expect(await placements(backend.server)).toEqual({
      '1': [],
      '2': ['embedded-cpu-dr-1', 'embedded-cpu-dr-2'],
    });

    await rollsBackToVersion1(backend.server, created.body.id);
    expect(await placements(backend.server)).toEqual({
      '1': ['embedded-cpu-dr-1', 'embedded-cpu-dr-2'],
      '2': [],
    });
  });

  it('rolls a canary back by itself when its analysis fails, with the evidence', async () => {
    const stop = trafficTo(backend.server);
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({ ...canary, analysis: { ...canary.analysis, maxP99Ms: 0.0001 } });
    const done = await finished(backend.server, created.body.id);
    await stop();

    expect(done.state).toBe('rolled_back');
    expect(done.reason).toMatch(/Analysis of step 1 failed: p99 latency/);
    const verdict = done.events.find((e: any) => e.kind === 'analysis');
    expect(verdict.evidence.verdict).toBe('fail');
    expect(verdict.evidence.evidence.canary.attempts).toBeGreaterThanOrEqual(
      10,
    );
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
    });
  });

  it('ends a deployment that fails validation as failed, naming the check, with nothing changed', async () => {
    fs.writeFileSync(
      path.join(modelsDir, 'mlp', '2', 'model.onnx'),
      makeMlpModel({ seed: 9 }),
    );
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send(canary);
    const done = await finished(backend.server, created.body.id);

    expect(done.state).toBe('failed');
    expect(done.reason).toMatch(
      /the artifact is the one registered \(SHA-256\)/,
    );
    expect(done.snapshot).toBeUndefined();
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
    });
  });

  it.each([
    [
      { ...canary, target: 'lambda' },
      /target: no deployment target named lambda/,
    ],
    [{ ...canary, strategy: 'recreate' }, /strategy/],
    [
      { ...canary, spec: { ...canary.spec, maxUnavailable: 2 } },
      /spec.maxUnavailable: only a rolling deployment takes it, not a canary one/,
    ],
    [
      {
        ...canary,
        strategy: 'rolling',
        steps: undefined,
        spec: { ...canary.spec, scaleDownDelayMs: 0 },
      },
      /spec.scaleDownDelayMs: only a blue-green deployment takes it/,
    ],
    [{ ...canary, steps: [50, 90] }, /steps: the last step must be 100/],
    [{ ...canary, steps: [60, 40, 100] }, /steps: must go up/],
    [{ ...canary, spec: { model: 'mlp' } }, /Invalid spec: version/],
    [
      { ...canary, spec: { model: 'nope', version: '1' } },
      /spec.model: no model named nope/,
    ],
    [{ ...canary, entityRef: 'not a ref' }, /entityRef/],
    [
      { ...canary, entityRef: 'component:default/no-such-service' },
      /entityRef: there is no entity component:default\/no-such-service in the catalog/,
    ],
    [
      { ...canary, entityRef: 'component:default/order-execution' },
      /entityRef: component:default\/order-execution deploys to kubernetes/,
    ],
    [{ ...canary, extra: 1 }, /extra/],
  ])(
    'refuses a bad request with a 400 naming the field (%#)',
    async (body, message) => {
      const res = await request(backend.server)
        .post('/api/gekko/deployments')
        .set('Authorization', user)
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
      expect(await knex('gekko_deployments')).toEqual([]);
    },
  );

  it('answers 404 for an unknown deployment and 400 for an id that is not one', async () => {
    const unknown = await request(backend.server)
      .post(
        '/api/gekko/deployments/6f1c1f4e-2f57-4a4a-9a43-3a4d2f3b1c11/rollback',
      )
      .set('Authorization', user);
    expect(unknown.status).toBe(404);
    const bad = await request(backend.server)
      .get('/api/gekko/deployments/42')
      .set('Authorization', user);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/id: must be a deployment id/);
  });

  it('resumes a deployment in flight after a restart, from where its rows say it is', async () => {
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({ ...canary, pauseMs: 4_000 });
    await until(
      async () =>
        (await knex('gekko_deployments').first()).state === 'verifying' ||
        undefined,
      'the first step applied',
      60_000,
    );
    await backend.stop();

    backend = await startBackend(knex, modelsDir);
    const stop = trafficTo(backend.server);
    const done = await finished(backend.server, created.body.id);
    await stop();

    expect(done.state).toBe('succeeded');
    // Each step applied once: the restart did not start the deployment over.
    expect(done.events.filter((e: any) => e.kind === 'step')).toHaveLength(2);
    expect(await weights(backend.server)).toEqual({
      '1': 'deployed 0',
      '2': 'deployed 100',
    });
  });
});

describe('deployment permissions', () => {
  it('refuses a deployment without gekko.deployment.create, with an audit record', async () => {
    const knex = await databases.init('SQLITE_3');
    const modelsDir = twoModelVersions();
    const backend = await startBackend(knex, modelsDir, { deny: true });
    try {
      const res = await request(backend.server)
        .post('/api/gekko/deployments')
        .set('Authorization', user)
        .send(canary);
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/gekko.deployment.create/);
      expect(
        await knex('gekko_audit_records').where({ outcome: 'denied' }),
      ).toEqual([
        expect.objectContaining({
          action: 'deployment.create',
          target: entityRef,
        }),
      ]);
      expect(await knex('gekko_deployments')).toEqual([]);
    } finally {
      await backend.stop();
      fs.rmSync(modelsDir, { recursive: true, force: true });
    }
  });
});
