import { TestDatabases } from '@backstage/backend-test-utils';
import fs from 'node:fs';
import request from 'supertest';
import {
  cpuPool,
  mlpGekkoConfig,
  twoModelVersions,
} from '../bench/twoModelVersions';
import { modelLoaded } from './modelLoaded';
import {
  as,
  ava,
  PermissionBackend,
  startPermissionBackend,
} from './startPermissionBackend';
import { until } from './until';

/** A trading service trading-ops owns: deployed to a GPU pool, judged against one SLO. */
export const orderExecution = 'component:default/order-execution';

/** A pool trading-ops owns: owning a pool gives no right to change it. */
export const tradingPool = {
  ...cpuPool,
  name: 'trading-a100',
  title: 'Trading A100',
  accelerator: 'cuda',
  capacity: { devices: 8, memoryGiB: 640 },
  owner: 'group:default/trading-ops',
};

const catalogYaml = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: order-execution
  annotations:
    gekko.io/deployment-target: gpu-pool
    gekko.io/slos: order-latency
    gekko.io/metrics-url: http://127.0.0.1:1/metrics
spec:
  type: service
  lifecycle: production
  owner: group:default/trading-ops
`;

/** A backend from {@link startAccessTestBackend}. */
export interface AccessTestBackend extends PermissionBackend {
  /** Where the inference data plane listens. */
  dataPlaneUrl: string;
  /** A succeeded deployment of {@link orderExecution}. */
  deploymentId: string;
}

/**
 * The gekko backend with every capability in use, for tests of who may do what: the real permission
 * backend and catalog ({@link startPermissionBackend}) with {@link orderExecution}, pools `cpu-dr`
 * and {@link tradingPool}, model `mlp` (versions 1 and 2) on two embedded workers that chaos testing
 * may crash, the data plane, trading health, and one succeeded deployment. Rate limits stay at their
 * defaults unless `rateLimitsOff`. For tests.
 */
export async function startAccessTestBackend(options: {
  databases: TestDatabases;
  rateLimitsOff?: boolean;
}): Promise<AccessTestBackend> {
  const modelsDir = twoModelVersions();
  const gekko = mlpGekkoConfig(modelsDir, 2);
  const backend = await startPermissionBackend({
    databases: options.databases,
    catalogYaml,
    entities: [orderExecution],
    gekko: {
      ...gekko,
      gpuPools: [cpuPool, tradingPool],
      gpu: { ...gekko.gpu, chaos: { enabled: true } },
      inference: { ...gekko.inference, dataPlane: { port: 0 } },
      health: { scrapeInterval: { milliseconds: 500 } },
      ...(options.rateLimitsOff
        ? {
            rateLimits: {
              predict: { enabled: false },
              mutations: { enabled: false },
              failedAuthentications: { enabled: false },
            },
          }
        : {}),
    },
  });
  const stop = async () => {
    await backend.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  };
  try {
    const get = (path: string) =>
      request(backend.server)
        .get(`/api/gekko${path}`)
        .set('Authorization', as(ava));
    await modelLoaded(backend.server, as(ava), { workers: 2 });
    const dataPlaneUrl = (await get('/inference/data-plane')).body.url;
    const created = await request(backend.server)
      .post('/api/gekko/deployments')
      .set('Authorization', as(ava))
      .send({
        entityRef: orderExecution,
        target: 'gpu-pool',
        strategy: 'canary',
        spec: { model: 'mlp', version: '2' },
        steps: [100],
        pauseMs: 0,
        analysis: { minSamples: 0 },
      });
    const deploymentId = created.body.id;
    await until(
      async () =>
        (await get(`/deployments/${deploymentId}`)).body.state === 'succeeded',
      `deployment ${deploymentId} to succeed (${JSON.stringify(created.body)})`,
    );
    await until(
      async () =>
        (await get(`/health?entityRef=${orderExecution}`)).status === 200,
      'order-execution judged as a trading service',
    );
    return { ...backend, stop, dataPlaneUrl, deploymentId };
  } catch (error) {
    await stop();
    throw error;
  }
}
