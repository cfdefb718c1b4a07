import { TestDatabases, mockCredentials } from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import yaml from 'yaml';
import {
  predictOnDataPlane,
  startDataPlaneTestBackend,
} from '../__testUtils__/startDataPlaneTestBackend';

jest.setTimeout(60_000);

const openapi = yaml.parse(
  fs.readFileSync(path.join(__dirname, '../schema/openapi.yaml'), 'utf8'),
);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/** Low limits, so that a few requests reach them; `user:default/free` is exempt. */
const lowLimits = {
  predict: { requestsPerSecond: 1, burst: 2 },
  mutations: { requestsPerMinute: 60, burst: 2 },
  failedAuthentications: { requestsPerSecond: 1, burst: 2 },
  overrides: [
    {
      caller: 'user:default/free',
      predict: { enabled: false },
      mutations: { enabled: false },
    },
  ],
};

const pool = (name: string) => ({
  name,
  title: name,
  accelerator: 'cpu',
  region: 'dr',
  capacity: { devices: 0, memoryGiB: 16 },
  owner: 'group:default/platform',
});

const as = (user: string) =>
  mockCredentials.user.header(`user:default/${user}`);

/** A backend whose data plane applies `rateLimits` (the defaults when not given). */
const startBackend = (knex: Knex, rateLimits?: object) =>
  startDataPlaneTestBackend(knex, rateLimits ? { gekko: { rateLimits } } : {});

type Backend = Awaited<ReturnType<typeof startBackend>>;

const predict = ({ server }: Backend, user: string) =>
  request(server)
    .post('/api/gekko/inference/models/nhits-price/predict')
    .set('Authorization', as(user))
    .send({ inputs: [[1]] });

const predictOn = (
  { dataPlane }: Backend,
  token = mockCredentials.user.token('user:default/ava'),
) => predictOnDataPlane(dataPlane, token);

const createPool = ({ server }: Backend, user: string, name: string) =>
  request(server)
    .post('/api/gekko/pools')
    .set('Authorization', as(user))
    .send(pool(name));

/** A clock for the limits that only the test moves: `Date.now`, held still until restored. */
function holdClock() {
  const clock = { now: Date.now() };
  jest.spyOn(Date, 'now').mockImplementation(() => clock.now);
  return clock;
}

describe.each(databases.eachSupportedId())('rate limits on %s', databaseId => {
  let knex: Knex;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
  });

  afterEach(() => jest.restoreAllMocks());

  const engaged = () =>
    knex('gekko_audit_records')
      .where({ action: 'rate-limit.engage' })
      .orderBy('seq')
      .select('actor', 'outcome', 'details');

  it('answers predict over the limit with a 429 and Retry-After, per caller, until tokens refill', async () => {
    const backend = await startBackend(knex, lowLimits);
    const clock = holdClock();

    // The burst goes through to the gateway (which has no such model here).
    expect((await predict(backend, 'ava')).status).toBe(404);
    expect((await predict(backend, 'ava')).status).toBe(404);
    const refused = await predict(backend, 'ava');
    expect(refused.status).toBe(429);
    expect(
      openapi.paths['/inference/models/{name}/predict'].post.responses,
    ).toHaveProperty('429');
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toEqual({
      error: {
        name: 'TooManyRequestsError',
        message:
          'Too many predict requests from user:default/ava: the limit is 1 per second (bursts of 2) per caller. Slow down to 1 per second; retry after 1 s',
      },
      request: {
        method: 'POST',
        url: '/api/gekko/inference/models/nhits-price/predict',
        id: refused.headers['x-request-id'],
      },
      response: { statusCode: 429 },
    });
    // The same caller on the data plane shares the bucket.
    const direct = await predictOn(backend);
    expect(direct.status).toBe(429);
    expect(direct.headers.get('retry-after')).toBe('1');
    expect((await direct.json()).error.name).toBe('TooManyRequestsError');

    // Other callers are not affected; the exempt one never is.
    expect((await predict(backend, 'ben')).status).toBe(404);
    for (let i = 0; i < 10; i++) {
      expect((await predict(backend, 'free')).status).toBe(404);
    }
    // No credentials is still a 401, not a 429.
    const anonymous = await request(backend.server)
      .post('/api/gekko/inference/models/nhits-price/predict')
      .set('Authorization', mockCredentials.none.header())
      .send({ inputs: [[1]] });
    expect(anonymous.status).toBe(401);

    clock.now += 1000;
    expect((await predict(backend, 'ava')).status).toBe(404);
    expect((await predict(backend, 'ava')).status).toBe(429);

    // One audit record for the caller in the minute, however often it was refused.
    expect(await engaged()).toEqual([
      {
        actor: 'user:default/ava',
        outcome: 'denied',
        details: expect.stringContaining('"limit":"predict"'),
      },
    ]);
    clock.now += 60_000;
    for (let i = 0; i < 3; i++) await predict(backend, 'ava');
    expect(await engaged()).toHaveLength(2);

    const metrics = await request(backend.server)
      .get('/api/gekko/metrics')
      .set('Authorization', as('ava'));
    expect(metrics.text).toContain(
      'gekko_rate_limited_total{limit="predict",server="portal"} 3',
    );
    expect(metrics.text).toContain(
      'gekko_rate_limited_total{limit="predict",server="data-plane"} 1',
    );
  });

  it('takes a token for every data plane request on its hot path too, once the token and the ALLOW are cached', async () => {
    const backend = await startBackend(knex, lowLimits);
    const clock = holdClock();

    // The first request verifies the token and caches the ALLOW; the next ones take the hot path.
    expect((await predictOn(backend)).status).toBe(404);
    expect((await predictOn(backend)).status).toBe(404);
    const refused = await predictOn(backend);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await refused.json()).error.message).toMatch(
      /^Too many predict requests from user:default\/ava/,
    );
    // The portal route shares the bucket.
    expect((await predict(backend, 'ava')).status).toBe(429);

    clock.now += 1000;
    expect((await predictOn(backend)).status).toBe(404);
    expect((await predictOn(backend)).status).toBe(429);
    // One audit record for the minute, as on the portal.
    expect(await engaged()).toEqual([
      {
        actor: 'user:default/ava',
        outcome: 'denied',
        details: expect.stringContaining('"server":"data-plane"'),
      },
    ]);
  });

  it('limits every mutating route per caller, and not reads or predict', async () => {
    const backend = await startBackend(knex, lowLimits);
    const clock = holdClock();

    expect((await createPool(backend, 'ava', 'one')).status).toBe(201);
    // A refused change counts too: it cost a permission check and may cost an audit record.
    expect(
      (
        await request(backend.server)
          .patch('/api/gekko/pools/nope')
          .set('Authorization', as('ava'))
          .send({ title: 'x' })
      ).status,
    ).toBe(404);
    // Every mutating operation of openapi.yaml but predict, which has a limit of its own.
    const mutations = Object.entries<Record<string, any>>(openapi.paths)
      .flatMap(([template, item]) =>
        Object.entries(item)
          .filter(([method]) =>
            ['post', 'put', 'patch', 'delete'].includes(method),
          )
          .map(([method, op]) => ({ method, template, op })),
      )
      .filter(({ template }) => !template.endsWith('/predict'));
    expect(mutations.length).toBeGreaterThanOrEqual(11);
    for (const { method, template, op } of mutations) {
      expect({
        method,
        template,
        documented: Object.keys(op.responses),
      }).toEqual({
        method,
        template,
        documented: expect.arrayContaining(['429']),
      });
      const url = `/api/gekko${template.replace(/\{[^}]+\}/g, 'x')}`;
      const res = await request(backend.server)
        [method as 'post'](url)
        .set('Authorization', as('ava'))
        .send({});
      expect({ method, url, status: res.status }).toEqual({
        method,
        url,
        status: 429,
      });
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.error.message).toMatch(
        /^Too many changes from user:default\/ava: the limit is 60 per minute \(bursts of 2\) per caller\. Slow down to 60 per minute; retry after 1 s$/,
      );
    }
    // Reads, predict and other callers go on.
    const read = await request(backend.server)
      .get('/api/gekko/pools/one')
      .set('Authorization', as('ava'));
    expect(read.status).toBe(200);
    expect((await predict(backend, 'ava')).status).toBe(404);
    expect((await createPool(backend, 'ben', 'two')).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      expect((await createPool(backend, 'free', `free-${i}`)).status).toBe(201);
    }

    clock.now += 1000;
    expect((await createPool(backend, 'ava', 'three')).status).toBe(201);
    expect((await createPool(backend, 'ava', 'four')).status).toBe(429);
    expect(await engaged()).toEqual([
      {
        actor: 'user:default/ava',
        outcome: 'denied',
        details: expect.stringContaining('"limit":"mutations"'),
      },
    ]);
  });

  it('refuses an address that keeps failing to authenticate on the data plane, and no valid caller it already knows', async () => {
    const backend = await startBackend(knex, lowLimits);
    const clock = holdClock();

    expect((await predictOn(backend)).status).toBe(404);
    expect((await predictOn(backend, 'forged')).status).toBe(401);
    expect((await predictOn(backend, 'forged')).status).toBe(401);
    const refused = await predictOn(backend, 'forged');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await refused.json()).error.message).toMatch(
      /^Too many failed authentications from .+: the limit is 1 per second \(bursts of 2\)\. Check the token you send; retry after 1 s$/,
    );
    // The token verified before is not verified again, so it is let through.
    expect((await predictOn(backend)).status).toBe(404);

    clock.now += 1000;
    expect((await predictOn(backend, 'forged')).status).toBe(401);
  });

  it('limits nothing when turned off in config', async () => {
    const backend = await startBackend(knex, {
      predict: { enabled: false },
      mutations: { requestsPerMinute: 0 },
    });
    for (let i = 0; i < 30; i++) {
      expect((await predict(backend, 'ava')).status).toBe(404);
      expect((await predictOn(backend)).status).toBe(404);
      const bad = await request(backend.server)
        .post('/api/gekko/pools')
        .set('Authorization', as('ava'))
        .send({});
      expect(bad.status).toBe(400);
    }
  });
});
