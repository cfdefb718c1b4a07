import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';
import { ReplayTraffic } from './ReplayTraffic';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');

/** Successful requests per version of `mlp`, from the Prometheus endpoint. */
async function servedByVersion(server: any): Promise<Record<string, number>> {
  const res = await request(server)
    .get('/api/gekko/metrics')
    .set('Authorization', user);
  const served: Record<string, number> = {};
  for (const [, version, count] of res.text.matchAll(
    /^gekko_inference_requests_total\{model="mlp",version="([^"]+)",[^}]*outcome="success"\} (\d+)/gm,
  )) {
    served[version] = (served[version] ?? 0) + Number(count);
  }
  return served;
}

describe('replay traffic', () => {
  let modelsDir: string;
  let backend: Awaited<ReturnType<typeof startTestBackend>>;

  beforeEach(async () => {
    modelsDir = twoModelVersions();
    // A holdout file as training/nhits/train.py writes it, for the 8 inputs of the fixture model.
    fs.writeFileSync(
      path.join(modelsDir, 'mlp', '1', 'holdout.json'),
      JSON.stringify({
        window: 8,
        stride: 2,
        count: 10,
        values: Array.from({ length: 30 }, (_, i) => Math.sin(i / 3)),
      }),
    );
    const config = mlpGekkoConfig(modelsDir, 1);
    backend = await startTestBackend({
      features: [
        gekkoPlugin,
        mockServices.database.factory({
          knex: await databases.init('SQLITE_3'),
        }),
        mockServices.rootConfig.factory({
          data: {
            gekko: {
              ...config,
              inference: {
                ...config.inference,
                replayTraffic: { model: 'mlp', ratePerSecond: 50 },
              },
            },
          },
        }),
        catalogServiceMock.factory({
          entities: [
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
        mockServices.events.factory(),
      ],
    });
    await modelLoaded(backend.server, user);
  });

  afterEach(async () => {
    await backend.stop();
    fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  it('calls the model through the gateway, each version getting its share of the traffic', async () => {
    const deployed = await request(backend.server)
      .put('/api/gekko/inference/models/mlp/versions/2/deployment')
      .set('Authorization', user)
      .send({ weight: 50 });
    expect(deployed.status).toBe(200);
    const traffic = await request(backend.server)
      .put('/api/gekko/inference/models/mlp/traffic')
      .set('Authorization', user)
      .send({ weights: { '1': 50, '2': 50 } });
    expect(traffic.status).toBe(200);

    // No request in this test but the replay's: both versions serve some.
    const served = await until(
      async () => {
        const now = await servedByVersion(backend.server);
        return now['1'] >= 20 && now['2'] >= 20 ? now : undefined;
      },
      '20 replayed requests on each version',
      60_000,
    );
    expect(served['1'] + served['2']).toBeGreaterThanOrEqual(40);
  });

  it.each([
    ['canary', { steps: [50, 100] }],
    [
      'blue-green',
      { spec: { model: 'mlp', version: '2', scaleDownDelayMs: 0 } },
    ],
  ])(
    'gives a %s the evidence its analysis needs with no other caller',
    async (strategy, options) => {
      const created = await request(backend.server)
        .post('/api/gekko/deployments')
        .set('Authorization', user)
        .send({
          entityRef: 'component:default/inference-gateway',
          target: 'gpu-pool',
          strategy,
          spec: { model: 'mlp', version: '2' },
          pauseMs: 0,
          analysis: { maxP99Ms: 5_000, minSamples: 10, timeoutMs: 60_000 },
          ...options,
        });
      expect(created.status).toBe(202);
      const done = await until(
        async () => {
          const res = await request(backend.server)
            .get(`/api/gekko/deployments/${created.body.id}`)
            .set('Authorization', user);
          return ['succeeded', 'rolled_back', 'failed'].includes(res.body.state)
            ? res.body
            : undefined;
        },
        `the ${strategy} to end`,
        90_000,
      );

      expect({ state: done.state, reason: done.reason }).toEqual({
        state: 'succeeded',
        reason: undefined,
      });
      const [first] = done.events.filter((e: any) => e.kind === 'analysis');
      expect(first.evidence.evidence.canary.attempts).toBeGreaterThanOrEqual(
        10,
      );
      expect(first.evidence.evidence.baseline.attempts).toBeGreaterThan(0);
    },
  );
});

describe('ReplayTraffic', () => {
  it('sends at its rate from the holdout beside the artifact, a share by name to a version with no traffic, and nothing once stopped', async () => {
    const modelsDir = twoModelVersions();
    try {
      fs.writeFileSync(
        path.join(modelsDir, 'mlp', '2', 'holdout.json'),
        JSON.stringify({ window: 8, stride: 8, count: 2, values: [] }),
      );
      fs.writeFileSync(
        path.join(modelsDir, 'mlp', '1', 'holdout.json'),
        JSON.stringify({
          window: 3,
          stride: 1,
          count: 2,
          values: [1, 2, 3, 4],
        }),
      );
      const sent: Array<{ version?: string; input: number[] }> = [];
      const replay = new ReplayTraffic({
        gateway: {
          predict: async ({ version, input }) => {
            sent.push({ version, input: [...input] });
          },
        },
        // Version 1 has the traffic, so its holdout is replayed; version 2 waits with none.
        registry: {
          versionsOf: () => [
            {
              version: '2',
              artifact: 'mlp/2/model.onnx',
              state: 'deployed',
              weight: 0,
            },
            {
              version: '1',
              artifact: 'mlp/1/model.onnx',
              state: 'deployed',
              weight: 100,
            },
          ],
        },
        modelsDir,
        logger: mockServices.logger.mock(),
        model: 'mlp',
        ratePerSecond: 100,
      });
      const started = Date.now();
      replay.start();
      await until(
        async () => (sent.length >= 20 ? true : undefined),
        '20 requests',
        10_000,
      );
      await replay.stop();
      const count = sent.length;
      // 16 routed requests at 100 per second take about 160 ms, not all at once.
      expect(Date.now() - started).toBeGreaterThanOrEqual(120);
      // Routed requests go round the windows; after every 4th, the same window goes to version 2
      // by name (5 ms later, so on a busy machine the next routed ones may come first: the order
      // between the two kinds is not fixed, their counts and windows are).
      const routed = sent.filter(r => r.version === undefined);
      const previews = sent.filter(r => r.version !== undefined);
      expect(routed.slice(0, 4).map(r => r.input)).toEqual([
        [1, 2, 3],
        [2, 3, 4],
        [1, 2, 3],
        [2, 3, 4],
      ]);
      expect(previews.length).toBeGreaterThan(0);
      expect(previews).toEqual(
        previews.map(() => ({ version: '2', input: [2, 3, 4] })),
      );
      // One per 4 routed requests; the last may have been cancelled by the stop.
      expect(previews.length).toBeLessThanOrEqual(
        Math.floor(routed.length / 4),
      );
      expect(previews.length).toBeGreaterThanOrEqual(
        Math.floor(routed.length / 4) - 1,
      );
      await new Promise(resolve => setTimeout(resolve, 300));
      expect(sent.length).toBe(count);
      expect(replay.progress()).toEqual({
        sent: count,
        served: count,
        failed: 0,
      });
    } finally {
      fs.rmSync(modelsDir, { recursive: true, force: true });
    }
  });
});
