import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
// The real gekko backend beside the real scaffolder: the actions are tested against both.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import gekkoPlugin from '@gekko/plugin-gekko-backend';
import { makeMlpModel } from '@gekko/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import yaml from 'yaml';
import { createDeploymentCreateAction } from './actions/deploymentCreate';
import scaffolderModuleGekko from './index';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');
const templatesDir = path.resolve(__dirname, '../../../templates');

function template(name: string): Entity {
  return yaml.parse(
    fs.readFileSync(path.join(templatesDir, name, 'template.yaml'), 'utf8'),
  );
}

async function until<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  ms = 120_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

describe('the Gekko scaffolder actions, run by the real scaffolder from the shipped templates', () => {
  let server: Awaited<ReturnType<typeof startTestBackend>>['server'];
  let stopBackend: () => Promise<void>;
  let modelsDir: string;
  let traffic = true;
  let trafficLoop: Promise<void>;

  beforeAll(async () => {
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-scaffolder-'));
    for (const v of ['1', '2', '3']) {
      fs.mkdirSync(path.join(modelsDir, 'mlp', v), { recursive: true });
      fs.writeFileSync(
        path.join(modelsDir, 'mlp', v, 'model.onnx'),
        makeMlpModel({ seed: Number(v) }),
      );
    }
    const knex = await databases.init('SQLITE_3');
    const backend = await startTestBackend({
      features: [
        gekkoPlugin,
        scaffolderPlugin,
        scaffolderModuleGekko,
        mockServices.database.factory({ knex }),
        mockServices.events.factory(),
        catalogServiceMock.factory({
          entities: [
            template('deploy-model-version'),
            template('rollback-deployment'),
            template('register-model-version'),
            {
              apiVersion: 'backstage.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'inference-gateway', namespace: 'default' },
              spec: {
                type: 'service',
                lifecycle: 'production',
                owner: 'group:default/platform',
              },
            },
          ],
        }),
        mockServices.rootConfig.factory({
          data: {
            gekko: {
              gpuPools: [
                {
                  name: 'cpu-dr',
                  title: 'CPU',
                  accelerator: 'cpu',
                  region: 'dr',
                  capacity: { devices: 0, memoryGiB: 8 },
                  owner: 'group:default/platform',
                },
              ],
              gpu: { heartbeatInterval: { milliseconds: 200 } },
              inference: {
                modelsDir,
                embedded: { workers: 1, pool: 'cpu-dr' },
                models: [
                  {
                    name: 'mlp',
                    version: '1',
                    artifact: 'mlp/1/model.onnx',
                    pools: ['cpu-dr'],
                  },
                  {
                    name: 'mlp',
                    version: '2',
                    artifact: 'mlp/2/model.onnx',
                    pools: ['cpu-dr'],
                    weight: 0,
                  },
                ],
              },
            },
          },
        }),
      ],
    });
    server = backend.server;
    stopBackend = () => backend.stop();
    await until(async () => {
      const res = await request(server)
        .get('/api/gekko/inference/models/mlp/versions/1')
        .set('Authorization', user);
      return res.body.placements?.length ? true : undefined;
    }, 'mlp@1 loaded');
    // Live traffic on the model, so that each step's analysis has evidence.
    const row = Array.from({ length: 8 }, (_, i) => i / 8);
    trafficLoop = (async () => {
      while (traffic) {
        await request(server)
          .post('/api/gekko/inference/models/mlp/predict')
          .set('Authorization', user)
          .send({ inputs: [row] });
      }
    })();
  });

  afterAll(async () => {
    traffic = false;
    await trafficLoop;
    await stopBackend();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  /** Runs a template through the scaffolder's REST API; answers the task and its log. */
  async function runTemplate(name: string, values: object) {
    const created = await request(server)
      .post('/api/scaffolder/v2/tasks')
      .set('Authorization', user)
      .send({ templateRef: `template:default/${name}`, values });
    expect(created.status).toBe(201);
    const task = await until(async () => {
      const res = await request(server)
        .get(`/api/scaffolder/v2/tasks/${created.body.id}`)
        .set('Authorization', user);
      return ['completed', 'failed'].includes(res.body.status)
        ? res.body
        : undefined;
    }, `task ${created.body.id}`);
    const events = await request(server)
      .get(`/api/scaffolder/v2/tasks/${created.body.id}/events`)
      .set('Authorization', user);
    const log = events.body
      .filter((e: any) => e.type === 'log')
      .map((e: any) => e.body.message)
      .join('\n');
    return { task, log };
  }

  async function weights() {
    const res = await request(server)
      .get('/api/gekko/inference/models/mlp')
      .set('Authorization', user);
    return Object.fromEntries(
      res.body.items.map((v: any) => [v.version, `${v.state} ${v.weight}`]),
    );
  }

  const release = {
    entityRef: 'component:default/inference-gateway',
    model: 'mlp',
    version: '2',
    strategy: 'canary',
    steps: '50, 100',
    pauseSeconds: 0,
    maxP99Ms: 5000,
    maxErrorRate: 0.001,
    minSamples: 10,
    analysisTimeoutSeconds: 60,
  };

  it('deploys a canary from the template, the log streaming each phase, step and verdict; then rolls it back from the other template', async () => {
    const { task, log } = await runTemplate('deploy-model-version', release);

    expect(task.status).toBe('completed');
    expect(log).toMatch(/✔ the artifact is the one registered \(SHA-256\)/);
    expect(log).toMatch(/\[verifying\] \(step 1\) Applied step 1 of 2/);
    expect(log).toMatch(
      /\[activating\] \(step 2\) Analysis of step 1 passed — ✔ error rate 0/,
    );
    expect(log).toMatch(/\[succeeded\]/);
    expect(await weights()).toEqual({ '1': 'deployed 0', '2': 'deployed 100' });
    const deployments = await request(server)
      .get('/api/gekko/deployments')
      .set('Authorization', user);
    const [deployment] = deployments.body.items;
    // The person who ran the template, not the scaffolder, started the deployment.
    expect(deployment).toMatchObject({
      state: 'succeeded',
      createdBy: 'user:default/ava',
    });

    const rollback = await runTemplate('rollback-deployment', {
      deploymentId: deployment.id,
    });
    expect(rollback.task.status).toBe('completed');
    expect(rollback.log).toMatch(/is rolled back/);
    expect(await weights()).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
    });
  });

  it('fails the task when the canary’s analysis fails and the deployment rolls back, traffic back on the old version', async () => {
    const { task, log } = await runTemplate('deploy-model-version', {
      ...release,
      maxP99Ms: 0.0001,
    });

    expect(task.status).toBe('failed');
    expect(log).toMatch(/✘ p99 latency/);
    expect(log).toMatch(/ended rolled_back: Analysis of step 1 failed/);
    expect(await weights()).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
    });
  });

  it('stops at validation, changing nothing, when the version is not registered', async () => {
    const before = await weights();
    const { task, log } = await runTemplate('deploy-model-version', {
      ...release,
      version: '7',
    });

    expect(task.status).toBe('failed');
    expect(log).toMatch(/✘ the version is registered/);
    expect(await weights()).toEqual(before);
  });

  it('follows the same deployment when a recovered task finds its id in a checkpoint, instead of starting a second one', async () => {
    const started = await request(server)
      .post('/api/gekko/deployments')
      .set('Authorization', user)
      .send({
        entityRef: release.entityRef,
        target: 'gpu-pool',
        strategy: 'canary',
        spec: { model: 'mlp', version: '2' },
        steps: [100],
        pauseMs: 0,
        analysis: { maxP99Ms: 5000, minSamples: 10 },
      });
    expect(started.status).toBe(202);
    const before = (
      await request(server)
        .get('/api/gekko/deployments')
        .set('Authorization', user)
    ).body.items.length;

    const { port } = server.address() as { port: number };
    const action = createDeploymentCreateAction({
      discovery: {
        getBaseUrl: async () => `http://127.0.0.1:${port}/api/gekko`,
        getExternalBaseUrl: async () => `http://127.0.0.1:${port}/api/gekko`,
      },
      auth: mockServices.auth(),
      pollIntervalMs: 100,
    });
    const logged: string[] = [];
    const outputs: Record<string, unknown> = {};
    const checkpointed: string[] = [];
    // What the scaffolder hands a recovered task: the checkpoint answers the value it stored.
    const context = {
      input: { ...release, steps: '100' },
      logger: {
        info: (m: string) => logged.push(m),
        warn: (m: string) => logged.push(m),
        error: (m: string) => logged.push(m),
        debug: () => {},
        child: () => context.logger,
      },
      output: (name: string, value: unknown) => {
        outputs[name] = value;
      },
      checkpoint: async ({ key }: { key: string }) => {
        checkpointed.push(key);
        return started.body.id;
      },
      getInitiatorCredentials: async () =>
        mockCredentials.user('user:default/ava'),
      createTemporaryDirectory: async () => os.tmpdir(),
      workspacePath: os.tmpdir(),
      task: { id: 'recovered-task' },
      signal: new AbortController().signal,
      isDryRun: false,
    };
    await action.handler(context as any);

    expect(checkpointed).toEqual(['gekko.deployment.create']);
    expect(outputs).toMatchObject({
      deploymentId: started.body.id,
      state: 'succeeded',
      entityUrl: '/catalog/default/component/inference-gateway',
      deploymentsUrl:
        '/catalog/default/component/inference-gateway/deployments',
    });
    expect(logged.join('\n')).toMatch(/\[succeeded\]/);
    const after = (
      await request(server)
        .get('/api/gekko/deployments')
        .set('Authorization', user)
    ).body.items.length;
    expect(after).toBe(before);
  });
  it('registers a new version from its ONNX file on the pool picked, then releases it, as the person who ran the template', async () => {
    const { task, log } = await runTemplate('register-model-version', {
      model: 'mlp',
      version: '3',
      artifact: 'mlp/3/model.onnx',
      description: 'retrained',
      pool: 'resource:default/cpu-dr',
      entityRef: release.entityRef,
      strategy: 'canary',
      steps: '100',
      pauseSeconds: 0,
      maxP99Ms: 5000,
      minSamples: 10,
    });

    expect(task.status).toBe('completed');
    expect(log).toMatch(
      /Registered mlp@3 from mlp\/3\/model.onnx on pool cpu-dr/,
    );
    expect(log).toMatch(/\[succeeded\]/);
    const version = await request(server)
      .get('/api/gekko/inference/models/mlp/versions/3')
      .set('Authorization', user);
    expect(version.body).toMatchObject({
      state: 'deployed',
      weight: 100,
      pools: ['cpu-dr'],
      description: 'retrained',
    });
    const audit = await request(server)
      .get('/api/gekko/audit/records?action=model.register')
      .set('Authorization', user);
    expect(audit.body.items[0]).toMatchObject({
      actor: 'user:default/ava',
      details: expect.objectContaining({ version: '3' }),
    });
  });

  it('refuses to register a version again from another file, and deploys nothing', async () => {
    const before = await weights();
    const { task, log } = await runTemplate('register-model-version', {
      model: 'mlp',
      version: '3',
      artifact: 'mlp/1/model.onnx',
      pool: 'cpu-dr',
      entityRef: release.entityRef,
      strategy: 'canary',
    });

    expect(task.status).toBe('failed');
    expect(log).toMatch(
      /mlp@3 is already registered from mlp\/3\/model.onnx; choose a new version/,
    );
    expect(await weights()).toEqual(before);
  });

  it('rolls a version out worker by worker on the pool picked, the versions it replaces undeployed', async () => {
    const { task, log } = await runTemplate('deploy-model-version', {
      ...release,
      version: '1',
      strategy: 'rolling',
      pool: 'resource:default/cpu-dr',
      maxUnavailable: 1,
      scaleDownDelaySeconds: 30,
    });

    expect(task.status).toBe('completed');
    expect(log).toMatch(/switch worker 1 of 1 to the new version/);
    expect(await weights()).toEqual({
      '1': 'deployed 100',
      '2': 'registered 0',
      '3': 'registered 0',
    });
    const deployments = await request(server)
      .get('/api/gekko/deployments')
      .set('Authorization', user);
    expect(deployments.body.items[0]).toMatchObject({
      strategy: 'rolling',
      state: 'succeeded',
      spec: {
        model: 'mlp',
        version: '1',
        pools: ['cpu-dr'],
        maxUnavailable: 1,
      },
    });
  });
});
