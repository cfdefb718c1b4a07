import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import { gekkoDeploymentRollbackPermission } from '@gekko/plugin-gekko-common';
import permissionModuleGekkoPolicy from '@gekko/plugin-permission-backend-module-gekko-policy';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';

jest.setTimeout(180_000);

/*
 * Every piece of the decision is the real one: the permissions service asks the permission backend,
 * which runs the portal's policy; for a user who is not a deployer the policy answers "if they own
 * the entity", and the permission backend has the real catalog apply that to the entity.
 */

const ava = 'user:default/ava'; // platform: a deployer by default
const priya = 'user:default/priya'; // trading-ops: owns order-execution
const sam = 'user:default/sam'; // research: owns nothing here

/** What the sign-in resolver would put in each user's token. */
const memberships: Record<string, string[]> = {
  [ava]: [ava, 'group:default/platform'],
  [priya]: [priya, 'group:default/trading-ops'],
  [sam]: [sam, 'group:default/research'],
};

const owned = 'component:default/order-execution';
const notOwned = 'component:default/inference-gateway';

const catalogFile = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: order-execution
  annotations:
    gekko.io/deployment-target: gpu-pool
spec:
  type: service
  lifecycle: production
  owner: group:default/trading-ops
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: inference-gateway
spec:
  type: service
  lifecycle: production
  owner: group:default/platform
`;

const deployment = (entityRef: string) => ({
  entityRef,
  target: 'gpu-pool',
  strategy: 'canary',
  spec: { model: 'mlp', version: '2' },
  steps: [50, 100],
  pauseMs: 0,
  analysis: { minSamples: 0 },
});

const as = (user: string) => mockCredentials.user.header(user);

/**
 * Backstage's mock auth service, except that a plugin's token on behalf of a user names that plugin
 * as the actor, as the real auth service's tokens do. The permission backend refuses a resource
 * permission without a resourceRef when a user asks directly, not when a plugin asks for them: the
 * catalog's reads ask that way (conditions to filter by), and the mock's tokens would look direct.
 */
const authWithActors = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const auth = mockServices.auth({ pluginId: plugin.getId() });
    const issue = auth.getPluginRequestToken.bind(auth);
    auth.getPluginRequestToken = async options => {
      const { principal } = options.onBehalfOf;
      if (!auth.isPrincipal(options.onBehalfOf, 'user')) return issue(options);
      return {
        token: mockCredentials.user.token(
          (principal as { userEntityRef: string }).userEntityRef,
          { actor: { subject: `plugin:${plugin.getId()}` } },
        ),
      };
    };
    return auth;
  },
});

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('deployment permissions, decided by the real policy, permission backend and catalog', () => {
  let server: Awaited<ReturnType<typeof startTestBackend>>['server'];
  let stop: () => Promise<void>;
  let dir: string;
  let modelsDir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-permissions-'));
    fs.writeFileSync(path.join(dir, 'catalog-info.yaml'), catalogFile);
    modelsDir = twoModelVersions();
    const backend = await startTestBackend({
      features: [
        gekkoPlugin,
        catalogPlugin,
        permissionPlugin,
        permissionModuleGekkoPolicy,
        authWithActors,
        mockServices.events.factory(),
        // Each plugin its own in-memory SQLite database from TestDatabases, as the other backend
        // tests have: the default test database goes through the dev-data store when the test runs
        // in a jest worker process, whose shutdown hook then asked a destroyed pool for a
        // connection ("Unable to acquire a connection"), failing this file in full runs only.
        createServiceFactory({
          service: coreServices.database,
          deps: {},
          factory: async () => {
            const knex = await databases.init('SQLITE_3');
            return { getClient: async () => knex };
          },
        }),
        createServiceFactory({
          service: coreServices.userInfo,
          deps: {},
          factory: () => ({
            async getUserInfo(credentials) {
              const ref = (credentials.principal as { userEntityRef: string })
                .userEntityRef;
              return {
                userEntityRef: ref,
                ownershipEntityRefs: memberships[ref] ?? [ref],
              };
            },
          }),
        }),
        mockServices.rootConfig.factory({
          data: {
            permission: { enabled: true },
            catalog: {
              rules: [{ allow: ['Component', 'Location'] }],
              locations: [
                { type: 'file', target: path.join(dir, 'catalog-info.yaml') },
              ],
              processingInterval: { seconds: 1 },
            },
            gekko: mlpGekkoConfig(modelsDir, 1),
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();

    // The catalog has stitched the owner's relation, and the model serves.
    await until(async () => {
      const res = await request(server)
        .get('/api/catalog/entities/by-name/component/default/order-execution')
        .set('Authorization', as(ava));
      return res.body.relations?.some((r: any) => r.type === 'ownedBy');
    }, 'order-execution in the catalog with its owner');
    await until(async () => {
      const res = await request(server)
        .get(
          `/api/catalog/entities/by-name/component/default/inference-gateway`,
        )
        .set('Authorization', as(ava));
      return res.status === 200;
    }, 'inference-gateway in the catalog');
    await until(async () => {
      const res = await request(server)
        .get('/api/gekko/inference/models/mlp/versions/1')
        .set('Authorization', as(ava));
      return res.body.placements?.length > 0;
    }, 'mlp@1 loaded on the embedded worker');
  });

  afterAll(async () => {
    await stop?.();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  const create = (user: string, entityRef: string) =>
    request(server)
      .post('/api/gekko/deployments')
      .set('Authorization', as(user))
      .send(deployment(entityRef));

  const rollback = (user: string, id: string) =>
    request(server)
      .post(`/api/gekko/deployments/${id}/rollback`)
      .set('Authorization', as(user));

  const finished = (id: string) =>
    until(
      async () => {
        const res = await request(server)
          .get(`/api/gekko/deployments/${id}`)
          .set('Authorization', as(ava));
        return ['succeeded', 'rolled_back', 'failed'].includes(res.body.state)
          ? res.body
          : undefined;
      },
      `deployment ${id} to end`,
      120_000,
    );

  const denials = async (actor: string) => {
    const res = await request(server)
      .get('/api/gekko/audit/records')
      .query({ actor, outcome: 'denied', order: 'asc' })
      .set('Authorization', as(ava));
    expect(res.status).toBe(200);
    return res.body.items;
  };

  it('answers the front end, as usePermission asks it, per entity', async () => {
    const decide = async (user: string, resourceRef: string) => {
      const res = await request(server)
        .post('/api/permission/authorize')
        .set('Authorization', as(user))
        .send({
          items: [
            {
              id: '1',
              permission: gekkoDeploymentRollbackPermission,
              resourceRef,
            },
          ],
        });
      expect(res.status).toBe(200);
      return res.body.items[0].result;
    };
    expect(await decide(priya, owned)).toBe('ALLOW');
    expect(await decide(priya, notOwned)).toBe('DENY');
    expect(await decide(sam, owned)).toBe('DENY');
    expect(await decide(ava, owned)).toBe('ALLOW');
  });

  it('lets an owner of the entity deploy it and roll it back, and nobody else who is not a deployer', async () => {
    const created = await create(priya, owned);
    expect(created.status).toBe(202);
    expect(created.body.createdBy).toBe(priya);
    expect((await finished(created.body.id)).state).toBe('succeeded');

    const refused = await rollback(sam, created.body.id);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(
      `needs the gekko.deployment.rollback permission on ${owned}`,
    );

    const rolledBack = await rollback(priya, created.body.id);
    expect(rolledBack.status).toBe(202);
    expect((await finished(created.body.id)).state).toBe('rolled_back');
  });

  it('refuses a user who does not own the entity, with an audit record naming it', async () => {
    const bySam = await create(sam, owned);
    expect(bySam.status).toBe(403);
    expect(bySam.body.error.message).toMatch(
      `needs the gekko.deployment.create permission on ${owned}`,
    );
    // Owning one entity is no permission on another.
    const byPriya = await create(priya, notOwned);
    expect(byPriya.status).toBe(403);

    expect(await denials(sam)).toEqual([
      expect.objectContaining({
        action: 'deployment.rollback',
        target: owned,
        outcome: 'denied',
        details: expect.objectContaining({
          permission: 'gekko.deployment.rollback',
          resourceRef: owned,
        }),
      }),
      expect.objectContaining({
        action: 'deployment.create',
        target: owned,
        details: expect.objectContaining({
          permission: 'gekko.deployment.create',
          resourceRef: owned,
        }),
      }),
    ]);
    expect(await denials(priya)).toEqual([
      expect.objectContaining({
        action: 'deployment.create',
        target: notOwned,
      }),
    ]);
    const res = await request(server)
      .get('/api/gekko/deployments')
      .set('Authorization', as(ava));
    expect(res.body.items.filter((d: any) => d.createdBy !== priya)).toEqual(
      [],
    );
  });

  it('lets a platform member deploy and roll back an entity owned by another team', async () => {
    const created = await create(ava, owned);
    expect(created.status).toBe(202);
    expect((await finished(created.body.id)).state).toBe('succeeded');
    expect((await rollback(ava, created.body.id)).status).toBe(202);
    expect((await finished(created.body.id)).state).toBe('rolled_back');
  });

  it('still answers a bad entityRef with a 400 naming the field', async () => {
    const res = await create(sam, 'not a ref');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/entityRef/);
  });
});
