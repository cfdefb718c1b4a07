import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { Knex } from 'knex';
import fs from 'node:fs';
import request from 'supertest';
import { mlpGekkoConfig, twoModelVersions } from '../bench/twoModelVersions';
import { modelLoaded } from '../__testUtils__/modelLoaded';
import { until } from '../__testUtils__/until';
import { gekkoPlugin } from '../plugin';
import { inferenceGatewayEntity } from './__testUtils__/inferenceGatewayEntity';
import { describeEachDatabase } from '../__testUtils__/databases';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });
const user = mockCredentials.user.header('user:default/ava');
const entityRef = 'component:default/inference-gateway';

const canary = {
  entityRef,
  target: 'gpu-pool',
  strategy: 'canary',
  spec: { model: 'mlp', version: '2' },
  steps: [100],
  pauseMs: 0,
  analysis: { minSamples: 0 },
};

describeEachDatabase(databases)(
  'one deployment in flight per entity and target on %s',
  databaseId => {
    let knex: Knex;
    let modelsDir: string;
    let backend: Awaited<ReturnType<typeof startTestBackend>>;

    beforeEach(async () => {
      knex = await databases.init(databaseId);
      modelsDir = twoModelVersions();
      backend = await startTestBackend({
        features: [
          gekkoPlugin,
          mockServices.database.factory({ knex }),
          mockServices.rootConfig.factory({
            data: { gekko: mlpGekkoConfig(modelsDir, 1) },
          }),
          catalogServiceMock.factory({ entities: [inferenceGatewayEntity] }),
          mockServices.events.factory(),
        ],
      });
    });

    afterEach(async () => {
      await backend.stop();
      fs.rmSync(modelsDir, { recursive: true, force: true });
    });

    const create = (body: object) =>
      request(backend.server)
        .post('/api/gekko/deployments')
        .set('Authorization', user)
        .send(body);

    it('answers two creates at the same moment with one 202 and one 409 naming the deployment in flight', async () => {
      const answers = await Promise.all([
        create({ ...canary, pauseMs: 60_000 }),
        create({ ...canary, pauseMs: 60_000 }),
      ]);

      expect(answers.map(a => a.status).sort()).toEqual([202, 409]);
      const accepted = answers.find(a => a.status === 202)!;
      const refused = answers.find(a => a.status === 409)!;
      expect(refused.body.error.message).toContain(
        `Deployment ${accepted.body.id} of ${entityRef} to gpu-pool is still`,
      );
      expect(await knex('gekko_deployments').select('id')).toEqual([
        { id: accepted.body.id },
      ]);
      const refusal = await knex('gekko_audit_records').where({
        action: 'deployment.create',
        outcome: 'failure',
      });
      expect(refusal).toHaveLength(1);
    });

    it('refuses to roll a deployment back under a newer one in flight, naming it', async () => {
      await modelLoaded(backend.server, user);
      const first = await create(canary);
      await until(
        async () =>
          (
            await knex('gekko_deployments').where({ id: first.body.id }).first()
          ).state === 'succeeded' || undefined,
        'the first deployment to succeed',
      );
      const second = await create({
        ...canary,
        spec: { model: 'mlp', version: '1' },
        pauseMs: 60_000,
      });
      expect(second.status).toBe(202);

      const rollback = await request(backend.server)
        .post(`/api/gekko/deployments/${first.body.id}/rollback`)
        .set('Authorization', user);

      expect(rollback.status).toBe(409);
      expect(rollback.body.error.message).toContain(
        `Deployment ${second.body.id} of ${entityRef} to gpu-pool is still`,
      );
      expect(
        (await knex('gekko_deployments').where({ id: first.body.id }).first())
          .state,
      ).toBe('succeeded');
    });
  },
);
