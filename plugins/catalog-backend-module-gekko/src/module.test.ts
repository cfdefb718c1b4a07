import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { AlphaEntity as Entity } from '@backstage/catalog-model/alpha';
import catalogBackend from '@backstage/plugin-catalog-backend';
import { eventsServiceFactory } from '@backstage/plugin-events-node';
// The real gekko backend serves the pools, as in the portal.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import gekkoBackend from '@gekko/plugin-gekko-backend';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { catalogModuleGekko } from './module';

jest.setTimeout(120_000);

/*
 * The catalog publishes an entity's processing errors to the events service without awaiting the
 * publish (DefaultCatalogProcessingEngine). broken-service has errors on purpose and is processed
 * every second, so one such publish can land while the test backend shuts down: the events service
 * refuses it ("Service is shutting down"), and the unhandled rejection failed the file after every
 * test had passed. That one rejection is let pass; any other still fails the file.
 */
process.on('unhandledRejection', reason => {
  if ((reason as Error | undefined)?.message === 'Service is shutting down') {
    return;
  }
  setImmediate(() => {
    throw reason;
  });
});

const catalogFile = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: trading-engine
  annotations:
    gekko.io/gpu-pool: mps-primary
    gekko.io/deployment-target: kubernetes
    gekko.io/health-url: http://trading-engine:8080/health
    gekko.io/prometheus-selector: '{job="trading-engine"}'
spec:
  type: service
  lifecycle: production
  owner: group:default/platform
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: broken-service
  annotations:
    gekko.io/deployment-target: kubernetes
spec:
  type: service
  lifecycle: production
  owner: group:default/platform
`;

const brokenAnnotations = `
    gekko.io/gpu-pool: Not A Pool
    gekko.io/deployment-target: AWS Lambda
    gekko.io/metrics-url: ftp://nowhere
`;

const pool = {
  name: 'mps-primary',
  title: 'Apple Silicon — primary',
  accelerator: 'mps',
  region: 'primary',
  capacity: { devices: 4, memoryGiB: 768 },
  owner: 'group:default/platform',
  nodeSelector: { 'gekko.io/accelerator': 'mps' },
};

async function eventually<T>(
  fn: () => Promise<T | undefined>,
  what: string,
): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise(r => setTimeout(r, 250));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('catalog module gekko, in a real catalog with the real gekko backend', () => {
  let server: Awaited<ReturnType<typeof startTestBackend>>['server'];
  let file: string;

  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-catalog-'));
    file = path.join(dir, 'catalog-info.yaml');
    fs.writeFileSync(file, catalogFile);
    ({ server } = await startTestBackend({
      features: [
        catalogBackend,
        catalogModuleGekko,
        gekkoBackend,
        eventsServiceFactory,
        mockServices.rootConfig.factory({
          data: {
            catalog: {
              rules: [{ allow: ['Component', 'Resource', 'Location'] }],
              locations: [{ type: 'file', target: file }],
              processingInterval: { seconds: 1 },
              providers: {
                gekkoGpuPools: {
                  schedule: {
                    frequency: { minutes: 30 },
                    timeout: { minutes: 1 },
                  },
                },
              },
            },
            gekko: { gpuPools: [pool] },
          },
        }),
      ],
    }));
  });

  const getEntity = async (ref: string): Promise<Entity | undefined> => {
    const [kind, rest] = ref.split(':');
    const [namespace, name] = rest.split('/');
    const res = await request(server).get(
      `/api/catalog/entities/by-name/${kind}/${namespace}/${name}`,
    );
    return res.status === 200 ? res.body : undefined;
  };

  it('emits configured pools as gpu-pool Resources', async () => {
    const entity = await eventually(
      () => getEntity('resource:default/mps-primary'),
      'the pool entity',
    );
    expect(entity.spec).toMatchObject({
      type: 'gpu-pool',
      owner: 'group:default/platform',
      system: 'gordon-gekko',
    });
    expect(entity.metadata.annotations).toMatchObject({
      'gekko.io/accelerator': 'mps',
      'gekko.io/region': 'primary',
      'gekko.io/node-selector': 'gekko.io/accelerator=mps',
    });
  });

  it('relates a service to its GPU pool both ways', async () => {
    const service = await eventually(async () => {
      const e = await getEntity('component:default/trading-engine');
      return e?.relations?.some(r => r.type === 'dependsOn') ? e : undefined;
    }, 'the dependsOn relation');
    expect(service.relations).toContainEqual({
      type: 'dependsOn',
      targetRef: 'resource:default/mps-primary',
    });
    const poolEntity = await eventually(async () => {
      const e = await getEntity('resource:default/mps-primary');
      return e?.relations?.some(r => r.type === 'dependencyOf') ? e : undefined;
    }, 'the dependencyOf relation');
    expect(poolEntity.relations).toContainEqual({
      type: 'dependencyOf',
      targetRef: 'component:default/trading-engine',
    });
  });

  it('shows bad gekko.io annotations as processing errors on the entity', async () => {
    // The catalog keeps the last good version of an entity and shows why the new one was refused.
    await eventually(
      () => getEntity('component:default/broken-service'),
      'the valid service',
    );
    // Written aside and renamed, so the catalog never reads a half-written file.
    fs.writeFileSync(
      `${file}.next`,
      catalogFile.replace(
        'name: broken-service\n  annotations:\n    gekko.io/deployment-target: kubernetes\n',
        `name: broken-service\n  annotations:${brokenAnnotations}`,
      ),
    );
    fs.renameSync(`${file}.next`, file);
    const errors = await eventually(async () => {
      const e = await getEntity('component:default/broken-service');
      const items = (e?.status?.items ?? []).filter(
        i => i.type === 'backstage.io/catalog-processing',
      );
      return items.length ? items : undefined;
    }, 'processing errors');
    const messages = errors.map(i => i.error?.message).join('\n');
    expect(messages).toContain(
      'gekko.io/gpu-pool "Not A Pool" is not a pool name',
    );
    expect(messages).toContain(
      'gekko.io/deployment-target "AWS Lambda" is not a deployment target name',
    );
    expect(messages).toContain(
      'gekko.io/metrics-url "ftp://nowhere" must be an absolute http(s) URL',
    );
    const good = await getEntity('component:default/trading-engine');
    expect(good?.status?.items ?? []).toEqual([]);
  });

  it('shows a pool created, changed and deleted through the API within seconds, without a full refresh', async () => {
    const created = await request(server)
      .post('/api/gekko/pools')
      .set('Authorization', mockCredentials.user.header())
      .send({
        ...pool,
        name: 'cuda-dr',
        title: 'CUDA DR',
        accelerator: 'cuda',
        region: 'dr',
      });
    expect(created.status).toBe(201);
    const entity = await eventually(
      () => getEntity('resource:default/cuda-dr'),
      'the new pool',
    );
    expect(entity.metadata.title).toBe('CUDA DR');

    await request(server)
      .patch('/api/gekko/pools/cuda-dr')
      .set('Authorization', mockCredentials.user.header())
      .send({ title: 'CUDA disaster recovery' })
      .expect(200);
    await eventually(async () => {
      const e = await getEntity('resource:default/cuda-dr');
      return e?.metadata.title === 'CUDA disaster recovery' ? e : undefined;
    }, 'the changed title');

    await request(server)
      .delete('/api/gekko/pools/cuda-dr')
      .set('Authorization', mockCredentials.user.header())
      .expect(204);
    await eventually(
      async () =>
        (await getEntity('resource:default/cuda-dr')) ? undefined : true,
      'the removal',
    );
  });
});
