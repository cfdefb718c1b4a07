import { createServiceFactory } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import {
  DefaultEventsService,
  eventsServiceRef,
} from '@backstage/plugin-events-node';
import { makeMlpModel } from '@gekko/worker';
import { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');

describe.each(databases.eachSupportedId())(
  'two replicas on one %s database',
  databaseId => {
    it('see each other’s model registry changes through the events service', async () => {
      const knex: Knex = await databases.init(databaseId);
      const modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-sync-'));
      for (const v of ['1', '2']) {
        fs.mkdirSync(path.join(modelsDir, 'mlp', v), { recursive: true });
        fs.writeFileSync(
          path.join(modelsDir, 'mlp', v, 'model.onnx'),
          makeMlpModel({ seed: Number(v) }),
        );
      }
      // One bus for both, as the events backend connects replicas in production.
      const bus = DefaultEventsService.create({
        logger: mockServices.logger.mock(),
        useEventBus: 'never',
      });
      const replica = () =>
        startTestBackend({
          features: [
            gekkoPlugin,
            mockServices.database.factory({ knex }),
            createServiceFactory({
              service: eventsServiceRef,
              deps: {},
              factory: () => bus,
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
                  inference: {
                    modelsDir,
                    embedded: { workers: 0 },
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
      const a = await replica();
      const b = await replica();
      try {
        const deployed = await request(a.server)
          .put('/api/gekko/inference/models/mlp/versions/2/deployment')
          .set('Authorization', user)
          .send({ weight: 30 });
        expect(deployed.status).toBe(200);

        const seenByB = await until(async () => {
          const res = await request(b.server)
            .get('/api/gekko/inference/models/mlp/versions/2')
            .set('Authorization', user);
          return res.body.state === 'deployed' ? res.body : undefined;
        }, 'replica B to see version 2 deployed');
        expect(seenByB.weight).toBe(30);
      } finally {
        await a.stop();
        await b.stop();
        fs.rmSync(modelsDir, { recursive: true, force: true });
      }
    });
  },
);
