import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { createBackendModule } from '@backstage/backend-plugin-api';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { EventParams, eventsServiceRef } from '@backstage/plugin-events-node';
import {
  DeploymentSignal,
  deploymentSignalChannel,
} from '@gekko/plugin-gekko-common';
import fs from 'node:fs';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import { inferenceGatewayEntity } from './__testUtils__/inferenceGatewayEntity';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');
const entityRef = 'component:default/inference-gateway';

/**
 * What the real signals service puts on the events bus: the signals backend hands each event on
 * `signals` to the browsers subscribed to its channel.
 */
function signalsOnTheBus(seen: EventParams[]) {
  return createBackendModule({
    pluginId: 'gekko',
    moduleId: 'signals-listener',
    register(env) {
      env.registerInit({
        deps: { events: eventsServiceRef },
        async init({ events }) {
          await events.subscribe({
            id: 'test-signals-listener',
            topics: ['signals'],
            onEvent: async event => {
              seen.push(event);
            },
          });
        },
      });
    },
  });
}

describe('live deployment updates', () => {
  it('pushes every change of a deployment as a signal on its entity’s channel, in order', async () => {
    const knex = await databases.init('SQLITE_3');
    const modelsDir = twoModelVersions();
    const seen: EventParams[] = [];
    const backend = await startTestBackend({
      features: [
        gekkoPlugin,
        signalsOnTheBus(seen),
        mockServices.database.factory({ knex }),
        mockServices.rootConfig.factory({
          data: { gekko: mlpGekkoConfig(modelsDir, 1) },
        }),
        catalogServiceMock.factory({
          entities: [inferenceGatewayEntity],
        }),
        mockServices.events.factory(),
      ],
    });
    try {
      await modelLoaded(backend.server, user);
      // A blue-green needs no traffic on the old version; explicit requests judge the new one.
      let running = true;
      const traffic = (async () => {
        while (running) {
          await request(backend.server)
            .post('/api/gekko/inference/models/mlp/predict')
            .set('Authorization', user)
            .send({ inputs: [[0, 0, 0, 0, 0, 0, 0, 0]], version: '2' });
        }
      })();
      const created = await request(backend.server)
        .post('/api/gekko/deployments')
        .set('Authorization', user)
        .send({
          entityRef,
          target: 'gpu-pool',
          strategy: 'blue-green',
          spec: { model: 'mlp', version: '2', scaleDownDelayMs: 0 },
          pauseMs: 0,
          analysis: { maxP99Ms: 5_000, minSamples: 5, timeoutMs: 60_000 },
        });
      expect(created.status).toBe(202);
      const id = created.body.id;

      const signals = await until(
        async () => {
          const mine = seen
            .map(e => e.eventPayload as any)
            .filter(p => p.message?.id === id);
          return mine.some(p => p.message.state === 'succeeded')
            ? mine
            : undefined;
        },
        'the signal of the succeeded deployment',
        60_000,
      );
      running = false;
      await traffic;

      for (const payload of signals) {
        expect(payload.channel).toBe(deploymentSignalChannel(entityRef));
        expect(payload.recipients).toEqual({ type: 'broadcast' });
      }
      const messages = signals.map(p => p.message as DeploymentSignal);
      expect(messages.map(m => m.state)).toEqual([
        'pending',
        'validating',
        'preparing',
        'activating',
        'verifying',
        'activating',
        'verifying',
        'activating',
        'verifying',
        'succeeded',
      ]);
      // The same story as the deployment's stored events, one signal per event.
      const stored = await request(backend.server)
        .get(`/api/gekko/deployments/${id}`)
        .set('Authorization', user);
      expect(messages.slice(1).map(m => m.message)).toEqual(
        stored.body.events.map((e: any) => e.message),
      );
    } finally {
      await backend.stop();
      fs.rmSync(modelsDir, { recursive: true, force: true });
    }
  });
});
