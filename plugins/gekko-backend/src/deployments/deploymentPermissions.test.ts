import { TestDatabases } from '@backstage/backend-test-utils';
import { gekkoDeploymentRollbackPermission } from '@gekko/plugin-gekko-common';
import fs from 'node:fs';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import {
  as,
  ava,
  priya,
  sam,
  startPermissionBackend,
} from '../__testUtils__/startPermissionBackend';
import { until } from '../__testUtils__/until';

jest.setTimeout(180_000);

// Every piece of the decision is the real one (see startPermissionBackend). ava: platform, a
// deployer by default; priya: trading-ops, owns order-execution; sam: research, owns nothing here.

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

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('deployment permissions, decided by the real policy, permission backend and catalog', () => {
  let server: Awaited<ReturnType<typeof startPermissionBackend>>['server'];
  let stop: () => Promise<void>;
  let modelsDir: string;

  beforeAll(async () => {
    modelsDir = twoModelVersions();
    ({ server, stop } = await startPermissionBackend({
      databases,
      catalogYaml: catalogFile,
      entities: [owned, notOwned],
      gekko: mlpGekkoConfig(modelsDir, 1),
    }));
    await modelLoaded(server, as(ava));
  });

  afterAll(async () => {
    await stop?.();
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
