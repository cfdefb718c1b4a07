import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  predictOnDataPlane,
  startDataPlaneTestBackend,
} from '../__testUtils__/startDataPlaneTestBackend';

jest.setTimeout(60_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15', 'SQLITE_3'] });

/**
 * The data plane's hot path admits a caller with no promise when its token was verified and its
 * ALLOW cached in the last 5 s. These tests hold it to what the slow path decides: a grant revoked
 * stops the caller once the cached ALLOW expires, with a 403 and an audit record each time.
 */
describe.each(databases.eachSupportedId())(
  'the data plane hot path on %s',
  databaseId => {
    afterEach(() => jest.restoreAllMocks());

    it('stops a caller whose grant is revoked once the cached ALLOW expires, and audits each denial', async () => {
      const knex = await databases.init(databaseId);
      const policy: { result: AuthorizeResult.ALLOW | AuthorizeResult.DENY } = {
        result: AuthorizeResult.ALLOW,
      };
      const asked: string[] = [];
      const { dataPlane } = await startDataPlaneTestBackend(knex, {
        features: [
          createServiceFactory({
            service: coreServices.permissions,
            deps: {},
            factory: () => ({
              async authorize(
                queries: Array<{ permission: { name: string } }>,
              ) {
                asked.push(...queries.map(q => q.permission.name));
                return queries.map(() => ({ result: policy.result }));
              },
              async authorizeConditional(queries: unknown[]) {
                return queries.map(() => ({ result: policy.result }));
              },
            }),
          }),
        ],
      });
      const predict = () =>
        predictOnDataPlane(
          dataPlane,
          mockCredentials.user.token('user:default/ava'),
        );
      const clock = { now: Date.now() };
      jest.spyOn(Date, 'now').mockImplementation(() => clock.now);
      const invokes = () =>
        asked.filter(p => p === 'gekko.inference.invoke').length;

      expect((await predict()).status).toBe(404);
      expect((await predict()).status).toBe(404);
      // The second request was admitted from the cache.
      expect(invokes()).toBe(1);

      policy.result = AuthorizeResult.DENY;
      // Within the 5 s the ALLOW is reused (the documented delay of a revocation on this path).
      clock.now += 4000;
      expect((await predict()).status).toBe(404);
      clock.now += 1001;
      for (let i = 0; i < 2; i++) {
        const denied = await predict();
        expect(denied.status).toBe(403);
        expect((await denied.json()).error.message).toMatch(
          /gekko\.inference\.invoke/,
        );
      }
      // Denials are never cached: each was asked, and audited.
      expect(invokes()).toBe(3);
      expect(
        await knex('gekko_audit_records')
          .where({ outcome: 'denied', action: 'inference.invoke' })
          .select('actor'),
      ).toEqual([{ actor: 'user:default/ava' }, { actor: 'user:default/ava' }]);

      policy.result = AuthorizeResult.ALLOW;
      expect((await predict()).status).toBe(404);
    });
  },
);
