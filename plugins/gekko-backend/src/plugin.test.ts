import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { Knex } from 'knex';
import request from 'supertest';
import { gekkoPlugin } from './plugin';
import { describeEachDatabase } from './__testUtils__/databases';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

const seedPool = {
  name: 'mps-primary',
  title: 'Apple Silicon — primary',
  accelerator: 'mps',
  region: 'primary',
  capacity: { devices: 4, memoryGiB: 768 },
  owner: 'group:default/platform',
  nodeSelector: { 'gekko.io/accelerator': 'mps' },
};

const newPool = {
  name: 'cuda-dr',
  title: 'NVIDIA CUDA — DR',
  accelerator: 'cuda',
  region: 'dr',
  capacity: { devices: 2, memoryGiB: 160 },
  owner: 'group:default/platform',
  nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
};

async function startBackend(knex: Knex, permission?: AuthorizeResult.DENY) {
  const { server } = await startTestBackend({
    features: [
      gekkoPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          gekko: {
            gpuPools: [seedPool],
            inference: { embedded: { workers: 0 } },
          },
        },
      }),
      mockServices.events.factory(),
      ...(permission
        ? [mockServices.permissions.factory({ result: permission })]
        : []),
    ],
  });
  return server;
}

describeEachDatabase(databases)('gekko backend on %s', databaseId => {
  let knex: Knex;
  let server: Awaited<ReturnType<typeof startBackend>>;

  beforeEach(async () => {
    knex = await databases.init(databaseId);
    server = await startBackend(knex);
  });

  const auditRows = () => knex('gekko_audit_records').orderBy('seq');

  it('seeds pools from config once and records the seeding', async () => {
    const res = await request(server).get('/api/gekko/pools');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      expect.objectContaining({ ...seedPool, source: 'config' }),
    ]);
    expect(await auditRows()).toEqual([
      expect.objectContaining({
        actor: 'plugin:gekko',
        action: 'pool.seed',
        target: 'resource:default/mps-primary',
        outcome: 'success',
      }),
    ]);
  });

  it('requires authentication on every route', async () => {
    for (const [method, path] of [
      ['get', '/api/gekko/pools'],
      ['post', '/api/gekko/pools'],
      ['get', '/api/gekko/audit/records'],
      ['get', '/api/gekko/audit/verify'],
    ] as const) {
      const res = await request(server)
        [method](path)
        .set('Authorization', mockCredentials.none.header());
      expect(res.status).toBe(401);
    }
  });

  it('creates, updates and deletes a pool, each change audited with its actor', async () => {
    const created = await request(server)
      .post('/api/gekko/pools')
      .set('Authorization', mockCredentials.user.header('user:default/jane'))
      .send(newPool);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...newPool, source: 'api' });

    const updated = await request(server)
      .patch('/api/gekko/pools/cuda-dr')
      .set('Authorization', mockCredentials.user.header('user:default/jane'))
      .send({ capacity: { devices: 4 }, region: 'secondary' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      region: 'secondary',
      capacity: { devices: 4, memoryGiB: 160 },
    });

    const deleted = await request(server)
      .delete('/api/gekko/pools/cuda-dr')
      .set('Authorization', mockCredentials.user.header('user:default/jane'));
    expect(deleted.status).toBe(204);
    expect((await request(server).get('/api/gekko/pools/cuda-dr')).status).toBe(
      404,
    );

    const records = await request(server)
      .get('/api/gekko/audit/records')
      .query({ entityRef: 'resource:default/cuda-dr', order: 'asc' });
    expect(records.status).toBe(200);
    expect(
      records.body.items.map((r: any) => [r.actor, r.action, r.outcome]),
    ).toEqual([
      ['user:default/jane', 'pool.create', 'success'],
      ['user:default/jane', 'pool.update', 'success'],
      ['user:default/jane', 'pool.delete', 'success'],
    ]);
    expect(records.body.items[1].details.changed).toEqual([
      'capacity',
      'region',
    ]);
    const verify = await request(server).get('/api/gekko/audit/verify');
    expect(verify.body).toMatchObject({ valid: true, checked: 4 });
  });

  it('answers 409 on a name clash and 404 on an unknown pool, and records the failures', async () => {
    const clash = await request(server)
      .post('/api/gekko/pools')
      .send({ ...newPool, name: 'mps-primary' });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toContain('already exists');
    const missing = await request(server)
      .patch('/api/gekko/pools/nope')
      .send({ title: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toBe('No GPU pool named "nope"');
    const failures = (await auditRows()).filter(r => r.outcome === 'failure');
    expect(failures.map(r => [r.action, r.target])).toEqual([
      ['pool.create', 'resource:default/mps-primary'],
      ['pool.update', 'resource:default/nope'],
    ]);
  });

  it('appends events from other systems with the caller as actor', async () => {
    const res = await request(server)
      .post('/api/gekko/audit/events')
      .set(
        'Authorization',
        mockCredentials.service.header({
          onBehalfOf: mockCredentials.service('external:ci'),
          targetPluginId: 'gekko',
        }),
      )
      .send({
        action: 'deployment.promote',
        target: 'Component:default/Trading-Engine',
        details: { version: '2.4.1', token: 's3cret' },
      });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      actor: 'external:ci',
      target: 'component:default/trading-engine',
      details: { version: '2.4.1', token: '[REDACTED]' },
    });
  });

  it('exports the chain as JSONL that verifies offline', async () => {
    await request(server).post('/api/gekko/pools').send(newPool);
    const res = await request(server).get('/api/gekko/audit/export');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const { verifyAuditExport } = require('./audit/verifyAuditExport');
    const { Readable } = require('node:stream');
    const result = await verifyAuditExport(Readable.from([res.text]));
    // seed, create, and the export itself
    expect(result).toMatchObject({ valid: true, checked: 3 });
    const tampered = res.text.replace('"region":"dr"', '"region":"primary"');
    await expect(
      verifyAuditExport(Readable.from([tampered])),
    ).resolves.toMatchObject({
      valid: false,
      firstBrokenSeq: 2,
    });
  });

  describe('bad input', () => {
    const snapshot = async () => ({
      pools: await knex('gekko_gpu_pools').orderBy('name'),
      audit: await auditRows(),
    });

    const cases: Array<[string, string, string, unknown, string, number?]> = [
      [
        'post',
        '/api/gekko/pools',
        'malformed JSON',
        '{"name": "x",',
        'Malformed JSON body',
      ],
      [
        'post',
        '/api/gekko/pools',
        'a wrong type',
        { ...newPool, capacity: { devices: 'four', memoryGiB: 1 } },
        'capacity.devices: Expected number, received string',
      ],
      [
        'post',
        '/api/gekko/pools',
        'an unknown field',
        { ...newPool, gpus: 3 },
        'gpus: unknown field',
      ],
      [
        'post',
        '/api/gekko/pools',
        'a bad accelerator',
        { ...newPool, accelerator: 'tpu' },
        "accelerator: Invalid enum value. Expected 'mps' | 'cuda' | 'cpu'",
      ],
      [
        'post',
        '/api/gekko/pools',
        'a bad name',
        { ...newPool, name: 'Bad Name' },
        'name: must be lower-case',
      ],
      [
        'post',
        '/api/gekko/pools',
        'a bad owner ref',
        { ...newPool, owner: 'not a ref!' },
        'owner: must be an entity reference',
      ],
      [
        'post',
        '/api/gekko/pools',
        'a body that is not an object',
        [1, 2],
        '(body): Expected object, received array',
      ],
      [
        'post',
        '/api/gekko/pools',
        'an oversized body',
        { ...newPool, description: 'x'.repeat(70_000) },
        'larger than the 64 KiB limit',
        413,
      ],
      [
        'patch',
        '/api/gekko/pools/mps-primary',
        'an empty change',
        {},
        'must change at least one field',
      ],
      [
        'patch',
        '/api/gekko/pools/mps-primary',
        'a negative capacity',
        { capacity: { memoryGiB: -1 } },
        'capacity.memoryGiB: Number must be greater than or equal to 0',
      ],
      [
        'patch',
        '/api/gekko/pools/BAD..name',
        'a bad pool name in the path',
        { title: 'x' },
        'name: must be a pool name',
      ],
      [
        'delete',
        '/api/gekko/pools/a_b',
        'a bad pool name in the path',
        undefined,
        'name: must be a pool name',
      ],
      [
        'get',
        '/api/gekko/audit/records?entityRef=not%20a%20ref',
        'a bad entity ref',
        undefined,
        'Invalid entityRef: "not a ref" is not an entity reference',
      ],
      [
        'get',
        '/api/gekko/audit/records?limit=100000',
        'a limit out of range',
        undefined,
        'limit: must be a whole number from 1 to 500',
      ],
      [
        'get',
        '/api/gekko/audit/records?outcome=maybe',
        'a bad outcome',
        undefined,
        'outcome: Invalid enum value',
      ],
      [
        'get',
        '/api/gekko/audit/records?from=yesterday',
        'a bad time',
        undefined,
        'from: must be an ISO 8601 time',
      ],
      [
        'get',
        '/api/gekko/audit/records?sort=seq',
        'an unknown parameter',
        undefined,
        'sort: unknown field',
      ],
      [
        'get',
        '/api/gekko/audit/records?cursor=abc',
        'a bad cursor',
        undefined,
        'Invalid cursor',
      ],
      [
        'get',
        '/api/gekko/audit/verify?full=1',
        'an unknown parameter',
        undefined,
        'full: unknown field',
      ],
      [
        'post',
        '/api/gekko/audit/events',
        'a bad target',
        { action: 'deployment.promote', target: 'trading engine' },
        'Invalid target',
      ],
      [
        'post',
        '/api/gekko/audit/events',
        'a bad action',
        { action: 'Promote!', target: 'component:default/x' },
        'action: must be dotted lower-case words',
      ],
      [
        'post',
        '/api/gekko/audit/events',
        'a bad outcome',
        { action: 'a.b', target: 'component:default/x', outcome: 'ok' },
        'outcome: Invalid enum value',
      ],
    ];

    it.each(cases)(
      '%s %s with %s: 4xx naming the problem, nothing stored',
      async (method, path, _what, body, message, status = 400) => {
        const before = await snapshot();
        let req = (request(server) as any)[method](path);
        if (typeof body === 'string')
          req = req.set('Content-Type', 'application/json').send(body);
        else if (body !== undefined) req = req.send(body);
        const res = await req;
        expect(res.status).toBe(status);
        expect(res.body.error.message).toContain(message);
        expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |stack/);
        expect(await snapshot()).toEqual(before);
      },
    );

    it('rejects a body that is not JSON with 415', async () => {
      const res = await request(server)
        .post('/api/gekko/pools')
        .set('Content-Type', 'text/plain')
        .send('name=x');
      expect(res.status).toBe(415);
      expect(res.body.error.message).toContain(
        'Content-Type: application/json',
      );
    });
  });

  it('answers unknown routes with a 404 that names them', async () => {
    const res = await request(server).get('/api/gekko/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toBe(
      'The gekko API has no route GET /nothing-here',
    );
  });
});

describeEachDatabase(databases)(
  'gekko backend with a denying policy on %s',
  databaseId => {
    it('answers 403 and records each denial', async () => {
      const knex = await databases.init(databaseId);
      const server = await startBackend(knex, AuthorizeResult.DENY);
      const attempts = [
        request(server).post('/api/gekko/pools').send(newPool),
        request(server)
          .patch('/api/gekko/pools/mps-primary')
          .send({ title: 'x' }),
        request(server).delete('/api/gekko/pools/mps-primary'),
        request(server).get('/api/gekko/audit/records'),
        request(server).get('/api/gekko/audit/verify'),
        request(server).get('/api/gekko/audit/export'),
        request(server)
          .post('/api/gekko/audit/events')
          .send({ action: 'a.b', target: 'component:default/x' }),
      ];
      for (const attempt of attempts) {
        const res = await attempt;
        expect(res.status).toBe(403);
        expect(res.body.error.message).toMatch(
          /needs the gekko\.(pool\.manage|audit\.read|audit\.append) permission/,
        );
      }
      const denied = await knex('gekko_audit_records')
        .where({ outcome: 'denied' })
        .orderBy('seq');
      expect(denied.map(r => [r.actor, r.action, r.target])).toEqual([
        ['user:default/mock', 'pool.create', 'resource:default/cuda-dr'],
        ['user:default/mock', 'pool.update', 'resource:default/mps-primary'],
        ['user:default/mock', 'pool.delete', 'resource:default/mps-primary'],
        ['user:default/mock', 'audit.read', null],
        ['user:default/mock', 'audit.verify', null],
        ['user:default/mock', 'audit.export', null],
        ['user:default/mock', 'audit.append', null],
      ]);
      expect(await knex('gekko_gpu_pools').select('name')).toEqual([
        { name: 'mps-primary' },
      ]);
    });
  },
);
