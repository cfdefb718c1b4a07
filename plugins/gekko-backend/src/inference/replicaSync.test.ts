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
import { Knex } from 'knex';
import fs from 'node:fs';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');

describeEachDatabase(databases)(
  'two replicas on one %s database',
  databaseId => {
    it('see each other’s model registry changes through the events service', async () => {
      const knex: Knex = await databases.init(databaseId);
      const modelsDir = twoModelVersions();
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
              data: { gekko: mlpGekkoConfig(modelsDir, 0) },
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
