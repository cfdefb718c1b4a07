import { TestDatabases } from '@backstage/backend-test-utils';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import yaml from 'yaml';
import { cpuPool } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import {
  orderExecution as owned,
  startAccessTestBackend,
  tradingPool,
} from '../__testUtils__/startAccessTestBackend';
import {
  as,
  ava,
  priya,
  sam,
  serviceAuthorization,
  serviceSubject,
} from '../__testUtils__/startPermissionBackend';
import { until } from '../__testUtils__/until';

jest.setTimeout(180_000);

/**
 * Every operation of openapi.yaml, asked by each kind of caller, answers as this matrix says: its
 * permission is pinned here, and a route added to the API without a row fails the first test.
 * Decisions are the real ones (the portal's policy, the permission backend, the catalog's
 * ownership); an allowed cell sends a valid request and gets its 2xx, so that a denied cell's 403
 * can only come from the permission check. Each 403 must leave a `denied` audit record.
 */

/** Who asks: nobody, a plain user, the entity's owner, a platform member, another system. */
const PRINCIPALS = [
  'anonymous',
  'user',
  'owner',
  'platform',
  'service',
] as const;
type Principal = (typeof PRINCIPALS)[number];

const authorizationOf: Record<Principal, string | undefined> = {
  anonymous: undefined,
  user: as(sam),
  owner: as(priya),
  platform: as(ava),
  service: serviceAuthorization,
};
const actorOf: Record<Principal, string> = {
  anonymous: 'anonymous',
  user: sam,
  owner: priya,
  platform: ava,
  service: serviceSubject,
};

/** The expected status of each principal, in the order of {@link PRINCIPALS}. */
const cells = (
  anonymous: number,
  user: number,
  owner: number,
  platform: number,
  service: number,
): Record<Principal, number> => ({ anonymous, user, owner, platform, service });

/** Any signed-in caller may: reads. */
const signedIn = (status = 200) => cells(401, status, status, status, status);
/** The platform team (and services) only, whoever owns what. */
const platformOnly = (status: number) => cells(401, 403, 403, status, status);
/** The entity's owners, the platform team and services. */
const ownerOrPlatform = (status: number) =>
  cells(401, 403, status, status, status);

interface Call {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  query?: Record<string, string>;
  body?: object;
}

interface Row {
  expect: Record<Principal, number>;
  /** The audit action of a denial; needed when a cell expects 403. */
  deniedAction?: string;
  /** The request of one cell, valid apart from who sends it; may prepare what it acts on. */
  call(who: Principal): Call | Promise<Call>;
}

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

let server: Awaited<ReturnType<typeof startAccessTestBackend>>['server'];
let stop: () => Promise<void>;
let dataPlaneUrl: string;
let deploymentId: string;

const api = (call: Call, authorization: string | undefined, id: string) => {
  const req = request(server)
    [call.method](`/api/gekko${call.path}`)
    .set('x-request-id', id);
  if (authorization) req.set('Authorization', authorization);
  if (call.query) req.query(call.query);
  return call.body ? req.send(call.body) : req;
};

/** As the platform team, for what a cell needs to exist first. */
const prepare = async (call: Call, status: number) => {
  const res = await api(call, as(ava), `prepare-${Date.now()}`);
  expect({ call, status: res.status, body: res.body }).toMatchObject({
    status,
  });
  return res.body;
};

const mlpVersion = (version: string) => ({
  name: 'mlp',
  version,
  artifact: 'mlp/2/model.onnx',
  pools: [cpuPool.name],
});

const workerRunning = (id: string) =>
  until(async () => {
    const res = await api(
      { method: 'get', path: '/gpu/workers' },
      as(ava),
      'w',
    );
    return res.body.items?.some((w: { id: string }) => w.id === id);
  }, `worker ${id} running`);

const matrix: Record<string, Row> = {
  'GET /pools': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/pools' }),
  },
  'POST /pools': {
    expect: platformOnly(201),
    deniedAction: 'pool.create',
    call: who => ({
      method: 'post',
      path: '/pools',
      body: { ...tradingPool, name: `created-by-${who}` },
    }),
  },
  'GET /pools/{name}': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: `/pools/${tradingPool.name}` }),
  },
  'PATCH /pools/{name}': {
    expect: platformOnly(200),
    deniedAction: 'pool.update',
    call: who => ({
      method: 'patch',
      path: `/pools/${tradingPool.name}`,
      body: { description: `changed by ${who}` },
    }),
  },
  'DELETE /pools/{name}': {
    expect: platformOnly(204),
    deniedAction: 'pool.delete',
    async call(who) {
      const name = `doomed-${who}`;
      await prepare(
        { method: 'post', path: '/pools', body: { ...tradingPool, name } },
        201,
      );
      return { method: 'delete', path: `/pools/${name}` };
    },
  },
  'GET /audit/records': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/audit/records',
      query: { outcome: 'denied', limit: '5' },
    }),
  },
  'GET /audit/verify': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/audit/verify' }),
  },
  'GET /audit/export': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/audit/export' }),
  },
  'POST /audit/events': {
    expect: platformOnly(201),
    deniedAction: 'audit.append',
    call: who => ({
      method: 'post',
      path: '/audit/events',
      body: { action: 'release.announce', target: owned, details: { who } },
    }),
  },
  'GET /gpu/workers': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/gpu/workers',
      query: { pool: 'cpu-dr' },
    }),
  },
  'GET /gpu/workers/{id}': {
    expect: signedIn(),
    async call() {
      await workerRunning('embedded-cpu-dr-1');
      return { method: 'get', path: '/gpu/workers/embedded-cpu-dr-1' };
    },
  },
  'POST /gpu/workers/{id}/crash': {
    expect: platformOnly(202),
    deniedAction: 'worker.crash',
    async call() {
      // A crashed thread starts again after a second; each cell crashes a running one.
      await workerRunning('embedded-cpu-dr-2');
      return { method: 'post', path: '/gpu/workers/embedded-cpu-dr-2/crash' };
    },
  },
  'GET /gpu/capacity': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/gpu/capacity' }),
  },
  'GET /gpu/utilization': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/gpu/utilization',
      query: { range: '15m' },
    }),
  },
  'GET /metrics': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/metrics' }),
  },
  'GET /inference/models': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/inference/models' }),
  },
  'POST /inference/models': {
    expect: platformOnly(201),
    deniedAction: 'model.register',
    call: who => ({
      method: 'post',
      path: '/inference/models',
      body: mlpVersion(`registered-by-${who}`),
    }),
  },
  'GET /inference/models/{name}': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/inference/models/mlp' }),
  },
  'GET /inference/models/{name}/versions/{version}': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/inference/models/mlp/versions/1' }),
  },
  'PUT /inference/models/{name}/versions/{version}/deployment': {
    expect: platformOnly(200),
    deniedAction: 'model.deploy',
    async call(who) {
      const version = `deployed-by-${who}`;
      await prepare(
        {
          method: 'post',
          path: '/inference/models',
          body: mlpVersion(version),
        },
        201,
      );
      return {
        method: 'put',
        path: `/inference/models/mlp/versions/${version}/deployment`,
        body: { weight: 0 },
      };
    },
  },
  'DELETE /inference/models/{name}/versions/{version}/deployment': {
    expect: platformOnly(200),
    deniedAction: 'model.undeploy',
    async call(who) {
      const version = `undeployed-by-${who}`;
      const route = `/inference/models/mlp/versions/${version}/deployment`;
      await prepare(
        {
          method: 'post',
          path: '/inference/models',
          body: mlpVersion(version),
        },
        201,
      );
      await prepare({ method: 'put', path: route, body: { weight: 0 } }, 200);
      return { method: 'delete', path: route };
    },
  },
  'PUT /inference/models/{name}/traffic': {
    expect: platformOnly(200),
    deniedAction: 'model.traffic',
    call: () => ({
      method: 'put',
      path: '/inference/models/mlp/traffic',
      body: { weights: { '1': 100 } },
    }),
  },
  'GET /inference/data-plane': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/inference/data-plane' }),
  },
  // Every signed-in user may run models (gekko.permissions.inferenceInvokers unset).
  'POST /inference/models/{name}/predict': {
    expect: signedIn(),
    async call() {
      await modelLoaded(server, as(ava));
      return {
        method: 'post',
        path: '/inference/models/mlp/predict',
        body: { inputs: [Array.from({ length: 8 }, (_, i) => i / 8)] },
      };
    },
  },
  'GET /deployments/targets': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/deployments/targets' }),
  },
  'GET /deployments': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/deployments',
      query: { entityRef: owned },
    }),
  },
  // A dry run checks the same permission, and stores and changes nothing.
  'POST /deployments': {
    expect: ownerOrPlatform(200),
    deniedAction: 'deployment.create',
    call: () => ({
      method: 'post',
      path: '/deployments',
      body: {
        entityRef: owned,
        target: 'gpu-pool',
        strategy: 'canary',
        spec: { model: 'mlp', version: '2' },
        dryRun: true,
      },
    }),
  },
  'GET /deployments/{id}': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: `/deployments/${deploymentId}` }),
  },
  // The owner's rollback starts it; the later ones are answered with the deployment rolling back.
  'POST /deployments/{id}/rollback': {
    expect: ownerOrPlatform(202),
    deniedAction: 'deployment.rollback',
    call: () => ({
      method: 'post',
      path: `/deployments/${deploymentId}/rollback`,
    }),
  },
  'GET /health': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/health',
      query: { entityRef: owned },
    }),
  },
  'GET /health/services': {
    expect: signedIn(),
    call: () => ({ method: 'get', path: '/health/services' }),
  },
  'GET /health/series': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/health/series',
      query: { entityRef: owned, slo: 'order-latency', range: '5m' },
    }),
  },
  'GET /health/alerts': {
    expect: signedIn(),
    call: () => ({
      method: 'get',
      path: '/health/alerts',
      query: { entityRef: owned },
    }),
  },
};

const spec = yaml.parse(
  fs.readFileSync(path.join(__dirname, '../schema/openapi.yaml'), 'utf8'),
);
const operations: string[] = Object.entries(spec.paths).flatMap(([p, ops]) =>
  Object.keys(ops as object)
    .filter(k => k !== 'parameters')
    .map(m => `${m.toUpperCase()} ${p}`),
);

describe('the authorization matrix: every operation of openapi.yaml × every kind of caller', () => {
  beforeAll(async () => {
    // Limits count a caller's requests; the matrix is about permissions only.
    ({ server, stop, dataPlaneUrl, deploymentId } =
      await startAccessTestBackend({ databases, rateLimitsOff: true }));
  });

  afterAll(async () => {
    await stop?.();
  });

  it('has one row per operation of openapi.yaml, and none for an operation it lacks', () => {
    const rows = Object.keys(matrix);
    expect({
      operationsWithoutARow: operations.filter(o => !rows.includes(o)),
      rowsWithoutAnOperation: rows.filter(r => !operations.includes(r)),
    }).toEqual({ operationsWithoutARow: [], rowsWithoutAnOperation: [] });
  });

  let denials = 0;

  /** The request id of one cell, to find its audit record by. */
  const cellId = (who: Principal, operation: string) =>
    `matrix-${who}-${operation.replace(/\W+/g, '-')}`;

  /** The newest denial of `who` doing `action`, from the trail. */
  const lastDenial = async (who: Principal, action: string | undefined) => {
    const trail = await api(
      {
        method: 'get',
        path: '/audit/records',
        query: {
          actor: actorOf[who],
          ...(action ? { action } : {}),
          outcome: 'denied',
          limit: '1',
        },
      },
      as(ava),
      'audit',
    );
    return trail.body.items[0];
  };

  it.each(operations.filter(o => matrix[o]))('%s', async operation => {
    const row = matrix[operation];
    const answers = {} as Record<Principal, number>;
    const errorsWithoutMessage: string[] = [];
    const denied: Array<{ who: Principal; message: string; record: object }> =
      [];
    for (const who of PRINCIPALS) {
      const call = await row.call(who);
      const id = cellId(who, operation);
      const res = await api(call, authorizationOf[who], id);
      answers[who] = res.status;
      const message = res.body?.error?.message;
      if (res.status >= 400 && typeof message !== 'string') {
        errorsWithoutMessage.push(who);
      }
      if (res.status === 403) {
        denials += 1;
        denied.push({
          who,
          message,
          record: await lastDenial(who, row.deniedAction),
        });
      }
    }
    expect(answers).toEqual(row.expect);
    expect(errorsWithoutMessage).toEqual([]);
    // Each denial names the permission, and is on the trail as this request's.
    expect(denied).toEqual(
      denied.map(({ who }) => ({
        who,
        message: expect.stringMatching(/needs the gekko\.[a-z.]+ permission/),
        record: expect.objectContaining({
          actor: actorOf[who],
          action: row.deniedAction,
          outcome: 'denied',
          requestId: cellId(who, operation),
        }),
      })),
    );
  });

  it('serves predict on the data plane to the same callers', async () => {
    const row = matrix['POST /inference/models/{name}/predict'];
    const answers = {} as Record<Principal, number>;
    for (const who of PRINCIPALS) {
      const call = await row.call(who);
      const res = await fetch(`${dataPlaneUrl}/api/gekko${call.path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorizationOf[who]
            ? { authorization: authorizationOf[who]! }
            : {}),
        },
        body: JSON.stringify(call.body),
      });
      answers[who] = res.status;
    }
    expect(answers).toEqual(row.expect);
  });

  it('records exactly one denial per 403, and nothing else as denied', async () => {
    const res = await api(
      {
        method: 'get',
        path: '/audit/records',
        query: { outcome: 'denied', limit: '500' },
      },
      as(ava),
      'audit',
    );
    expect(denials).toBeGreaterThan(0);
    expect(res.body.items).toHaveLength(denials);
    const verdict = await api(
      { method: 'get', path: '/audit/verify' },
      as(ava),
      'v',
    );
    expect(verdict.body).toMatchObject({ valid: true, firstBrokenSeq: null });
  });
});
