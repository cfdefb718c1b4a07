import { TestDatabases } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  FuzzRequest,
  fuzzRequest,
  Operation,
  readOperations,
  Rng,
} from '../__testUtils__/openApiFuzzer';
import {
  AccessTestBackend,
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
} from '../__testUtils__/startPermissionBackend';

jest.setTimeout(300_000);

/*
 * Requests generated from openapi.yaml, every operation, on both HTTP servers (the portal's routes
 * and the inference data plane), from callers with no token, bad tokens, and real ones: malformed
 * JSON, wrong types, huge and odd values, traversal and unicode in ids, odd queries, content-type
 * mismatches. Whatever comes in: never a 5xx (a documented 503 or 504 of predict aside), every
 * error in Backstage's shape with a message and no stack, nothing accepted without credentials,
 * and nothing stored changed: callers who may change things only send requests the API must
 * refuse. The seed (GEKKO_FUZZ_SEED) and count (GEKKO_FUZZ_COUNT) are fixed unless given; each
 * request is made from the seed and its number alone, and a failure names both, so that
 * GEKKO_FUZZ_ONLY=<number> sends that one request again.
 */

const SEED = Number(process.env.GEKKO_FUZZ_SEED ?? 20261223);
const COUNT = Number(process.env.GEKKO_FUZZ_COUNT ?? 3000);
const DATA_PLANE_COUNT = Math.ceil(COUNT / 5);
const ONLY = process.env.GEKKO_FUZZ_ONLY
  ? Number(process.env.GEKKO_FUZZ_ONLY)
  : undefined;

/** Authorization headers that authenticate nobody. */
const BAD_AUTHORIZATIONS = [
  'Bearer',
  'Bearer ',
  'Bearer  ',
  'Basic dXNlcjpwYXNzd29yZA==',
  'Token abc',
  'Bearer mock-none-token',
  'Bearer mock-invalid-user-token',
  'Bearer mock-invalid-service-token',
  // An expired-looking JWT, signed by nobody.
  'Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYXZhIiwiZXhwIjoxfQ.c2ln',
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvYXZhIn0.',
  // A service token for another plugin.
  'Bearer mock-service-token:{"sub":"external:ci","target":"catalog"}',
  `Bearer ${'a'.repeat(8000)}`,
  'Bearer a b',
  'Bearer ÿþ',
];

interface Caller {
  name: string;
  authorization(rng: Rng): string | undefined;
  authenticated: boolean;
  /** May change something: sends only requests the API must refuse to operations that change. */
  mayChange: boolean;
}

const CALLERS: Caller[] = [
  {
    name: 'anonymous',
    authorization: () => undefined,
    authenticated: false,
    mayChange: false,
  },
  {
    name: 'bad token',
    authorization: rng => rng.pick(BAD_AUTHORIZATIONS),
    authenticated: false,
    mayChange: false,
  },
  {
    name: 'plain user',
    authorization: rng => as(rng.pick([sam, 'user:default/mallory'])),
    authenticated: true,
    mayChange: false,
  },
  {
    name: 'owner',
    authorization: () => as(priya),
    authenticated: true,
    mayChange: true,
  },
  {
    name: 'platform',
    authorization: () => as(ava),
    authenticated: true,
    mayChange: true,
  },
  {
    name: 'service',
    authorization: () => serviceAuthorization,
    authenticated: true,
    mayChange: true,
  },
];

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Sends a request as given: the target unnormalized, the body and headers as built. */
function send(
  base: string,
  req: FuzzRequest,
  authorization: string | undefined,
): Promise<Answer> {
  const url = new URL(base);
  return new Promise(resolve => {
    const r = http.request({
      agent,
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: `/api/gekko${req.target}`,
      headers: {
        ...req.headers,
        ...(authorization !== undefined ? { authorization } : {}),
        ...(req.body ? { 'content-length': String(req.body.length) } : {}),
      },
    });
    r.on('response', res => {
      const chunks: Buffer[] = [];
      res.on('data', c => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    r.on('error', error =>
      resolve({ status: 0, contentType: '', text: String(error) }),
    );
    r.end(req.body);
  });
}

/** What is wrong with an answer, if anything. */
function judge(
  operation: Operation,
  caller: Caller,
  mustRefuse: boolean,
  answer: Answer,
): string | undefined {
  const { status, text } = answer;
  if (status === 0) return `no answer: ${text}`;
  if (status >= 500 && !operation.statuses.includes(String(status))) {
    return `a ${status}`;
  }
  // A documented 5xx (predict's 503 and 504) says what happened, unlike a failure's 500.
  if (status >= 500 && /failed to handle this request/.test(text)) {
    return `a ${status} that does not say why`;
  }
  if (!caller.authenticated && status < 400) {
    return `accepted without credentials (${status})`;
  }
  if (mustRefuse && status < 400)
    return `accepted a request it must refuse (${status})`;
  // Node's HTTP parser answers headers over its 16 KiB limit itself, before any route.
  if (status === 431) return undefined;
  if (status >= 400) {
    if (/\n\s+at .+:\d+:\d+/.test(text)) return `a stack trace in a ${status}`;
    let error: { name?: unknown; message?: unknown } | undefined;
    try {
      error = JSON.parse(text).error;
    } catch {
      return `a ${status} that is not JSON: ${text.slice(0, 100)}`;
    }
    if (
      typeof error?.name !== 'string' ||
      typeof error?.message !== 'string' ||
      !error.message
    ) {
      return `a ${status} without Backstage's error shape: ${text.slice(
        0,
        100,
      )}`;
    }
  }
  return undefined;
}

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const operations = readOperations(
  path.join(__dirname, '../schema/openapi.yaml'),
);
const predict = operations.find(
  o => o.key === 'POST /inference/models/{name}/predict',
)!;

describe(`fuzzing every operation of openapi.yaml (seed ${SEED})`, () => {
  let backend: AccessTestBackend;
  let portalUrl: string;
  let dataPlaneUrl: string;
  let db: Knex;
  const ids: Record<string, string[]> = {
    name: ['cpu-dr', tradingPool.name, 'mlp'],
    version: ['1', '2'],
    id: ['embedded-cpu-dr-1'],
  };
  const row = [0.5, -1, 2, 0, 1e-3, 3, 4, 5];
  const values: Record<string, unknown[]> = {
    entityRef: [owned, 'Component:default/Order-Execution'],
    target: ['gpu-pool'],
    spec: [
      { model: 'mlp', version: '2' },
      { model: 'mlp', version: '1', pools: ['cpu-dr'] },
      { model: 'mlp', version: '2', pools: ['nope'] },
      { model: 'nope', version: '1' },
    ],
    steps: [[50, 100], [100]],
    pools: [['cpu-dr']],
    name: ['mlp', 'cpu-dr'],
    artifact: ['mlp/1/model.onnx', 'mlp/2/model.onnx'],
    owner: ['group:default/trading-ops'],
    inputs: [[row], [row, row], Array.from({ length: 65 }, () => row)],
    // Mostly left out (undefined), so that inputs alone make a valid body.
    data: [undefined, undefined, undefined, row],
    shape: [undefined, undefined, undefined, [1, 8], [2, 4]],
    deadlineMs: [undefined, 1, 2, 5, 1000],
    weights: [{ '1': 100 }, { '1': 90, '2': 10 }],
    analysis: [{}, { minSamples: 0 }],
    pauseMs: [0, 1000],
    version: ['1', '2'],
    'x-gekko-version': ['1', '2'],
    'x-gekko-shape': ['1,8', '2,8'],
    pool: ['cpu-dr'],
    slo: ['order-latency'],
    system: ['system:default/gordon-gekko'],
    actor: [ava, 'external:ci'],
    action: ['pool.create', 'inference.invoke'],
  };
  const violations: string[] = [];
  const statuses: Record<string, number> = {};

  /** What the fuzz must leave as it was: pools, models, deployments and the audit trail. */
  const stored = async () => ({
    pools: await db('gekko_gpu_pools').orderBy('name'),
    models: await db('gekko_model_versions').orderBy(['name', 'version']),
    deployments: await db('gekko_deployments').orderBy('id'),
    deploymentEvents: await db('gekko_deployment_events').orderBy('id'),
    audit: await db('gekko_audit_records').orderBy('seq'),
  });

  const api = (method: string, target: string, body?: object) =>
    send(
      portalUrl,
      {
        method,
        target,
        headers: body ? { 'content-type': 'application/json' } : {},
        ...(body ? { body: Buffer.from(JSON.stringify(body)) } : {}),
        how: [],
      },
      as(ava),
    );

  beforeAll(async () => {
    backend = await startAccessTestBackend({ databases });
    db = backend.gekkoDb;
    portalUrl = `http://127.0.0.1:${
      (backend.server.address() as AddressInfo).port
    }`;
    dataPlaneUrl = backend.dataPlaneUrl;
    ids.id.push(backend.deploymentId);
  });

  afterAll(async () => {
    agent.destroy();
    await backend?.stop();
  });

  /** Methods the document has for a path, so that an odd one is sure to name no operation. */
  const methodsOf = (p: string) =>
    operations.filter(o => o.path === p).map(o => o.method);

  /**
   * Sends request `n` of the seed to `operation` (picked from the PRNG), on the portal or the data
   * plane, and notes what is wrong with the answer.
   */
  const run = async (
    server: 'portal' | 'data plane',
    n: number,
    pickOperation: (rng: Rng) => Operation,
  ) => {
    const rng = Rng.of(SEED, n);
    const operation = pickOperation(rng);
    const caller = rng.pick(CALLERS);
    const changes = operation.method !== 'GET' && operation !== predict;
    const mustRefuse = caller.mayChange && changes;
    const req = fuzzRequest(operation, rng, { ids, mustRefuse, values });
    if (rng.chance(0.05)) {
      req.method = rng.pick(
        ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter(
          m => !methodsOf(operation.path).includes(m),
        ),
      );
      req.how.push(`method ${req.method}`);
    }
    if (server === 'data plane' && rng.chance(0.15)) {
      req.target = rng.pick([
        '/../../etc/passwd',
        '/pools',
        '/inference/models/mlp/predict/',
        '/inference/models/mlp/predict/../predict',
        '/inference/models//predict',
        '/inference/models/mlp%2Fpredict',
        '/inference/models/mlp/predict?version=2',
        '/inference/models/mlp/predict#x',
        '/inference/models/%F0%9F%9A%80/predict',
        `/inference/models/${'m'.repeat(5000)}/predict`,
      ]);
      req.how.push('odd path');
    }
    const answer = await send(
      server === 'portal' ? portalUrl : dataPlaneUrl,
      req,
      caller.authorization(rng),
    );
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const wrong = judge(operation, caller, mustRefuse && !req.dryRun, answer);
    if (wrong && violations.length < 30) {
      violations.push(
        `${server} #${n} (GEKKO_FUZZ_SEED=${SEED} GEKKO_FUZZ_ONLY=${n}): ${wrong}; ${
          operation.key
        } as ${caller.name}: ${req.method} ${req.target.slice(
          0,
          200,
        )} [${req.how.join(', ')}] → ${answer.text.slice(0, 300)}`,
      );
    }
  };

  it('never fails, never lets anyone in without credentials, and changes nothing stored', async () => {
    const before = await stored();
    for (let n = 0; n < COUNT + DATA_PLANE_COUNT; n++) {
      if (ONLY !== undefined && n !== ONLY) continue;
      if (n < COUNT) await run('portal', n, rng => rng.pick(operations));
      else await run('data plane', n, () => predict);
    }
    process.stderr.write(
      `fuzz: ${COUNT} portal and ${DATA_PLANE_COUNT} data plane requests, seed ${SEED}, statuses ${JSON.stringify(
        statuses,
      )}\n`,
    );
    expect(violations).toEqual([]);

    const after = await stored();
    expect(after.pools).toEqual(before.pools);
    expect(after.models).toEqual(before.models);
    expect(after.deployments).toEqual(before.deployments);
    expect(after.deploymentEvents).toEqual(before.deploymentEvents);
    // The trail only grew, by refusals (and the records of exports, which reads make).
    expect(after.audit.slice(0, before.audit.length)).toEqual(before.audit);
    const added = after.audit.slice(before.audit.length);
    expect(
      added.filter(r => r.outcome === 'success' && r.action !== 'audit.export'),
    ).toEqual([]);
    // Every 403 left its denial on the trail (beside them: the rate limiter's, once a minute).
    expect(
      added.filter(
        r => r.outcome === 'denied' && r.action !== 'rate-limit.engage',
      ),
    ).toHaveLength(statuses[403] ?? 0);
    const verdict = JSON.parse((await api('GET', '/audit/verify')).text);
    expect(verdict).toMatchObject({ valid: true, firstBrokenSeq: null });

    // Both servers still serve.
    const ok = await send(
      dataPlaneUrl,
      {
        method: 'POST',
        target: '/inference/models/mlp/predict',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(
          JSON.stringify({ inputs: [[1, 2, 3, 4, 5, 6, 7, 8]] }),
        ),
        how: [],
      },
      as(sam),
    );
    expect(ok.status).toBe(200);
    expect((await api('GET', '/pools')).status).toBe(200);
  });
});
