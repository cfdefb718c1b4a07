import {
  coreServices,
  createServiceFactory,
} from '@backstage/backend-plugin-api';
import type { BackendFeature } from '@backstage/backend-plugin-api';
import {
  TestDatabases,
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import permissionPlugin from '@backstage/plugin-permission-backend';
import type { JsonObject } from '@backstage/types';
import permissionModuleGekkoPolicy from '@gekko/plugin-permission-backend-module-gekko-policy';
import { Knex } from 'knex';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gekkoPlugin } from '../plugin';
import { until } from './until';

/** A platform member: a deployer, pool and model manager by the policy's defaults. */
export const ava = 'user:default/ava';
/** A trading-ops member: owns what trading-ops owns, nothing more. */
export const priya = 'user:default/priya';
/** A research member: a plain signed-in user who owns nothing the tests use. */
export const sam = 'user:default/sam';

/** What the sign-in resolver would put in each user's token. */
export const memberships: Record<string, string[]> = {
  [ava]: [ava, 'group:default/platform'],
  [priya]: [priya, 'group:default/trading-ops'],
  [sam]: [sam, 'group:default/research'],
};

/** The `Authorization` header of a user's token. */
export const as = (user: string) => mockCredentials.user.header(user);

/** The subject of the service token from {@link serviceAuthorization}. */
export const serviceSubject = 'external:ci';

/** The `Authorization` header of another system's service token for the gekko plugin. */
export const serviceAuthorization = mockCredentials.service.header({
  onBehalfOf: mockCredentials.service(serviceSubject),
  targetPluginId: 'gekko',
});

/**
 * Backstage's mock auth service, except that a plugin's token on behalf of a user names that plugin
 * as the actor, as the real auth service's tokens do. The permission backend refuses a resource
 * permission without a resourceRef when a user asks directly, not when a plugin asks for them: the
 * catalog's reads ask that way (conditions to filter by), and the mock's tokens would look direct.
 */
const authWithActors = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const auth = mockServices.auth({ pluginId: plugin.getId() });
    const issue = auth.getPluginRequestToken.bind(auth);
    auth.getPluginRequestToken = async options => {
      const { principal } = options.onBehalfOf;
      if (!auth.isPrincipal(options.onBehalfOf, 'user')) return issue(options);
      return {
        token: mockCredentials.user.token(
          (principal as { userEntityRef: string }).userEntityRef,
          { actor: { subject: `plugin:${plugin.getId()}` } },
        ),
      };
    };
    return auth;
  },
});

/** A backend from {@link startPermissionBackend}. */
export interface PermissionBackend {
  server: Awaited<ReturnType<typeof startTestBackend>>['server'];
  /** The gekko plugin's own database, to read what is stored. */
  gekkoDb: Knex;
  stop(): Promise<void>;
}

/**
 * Starts the gekko backend with every piece of a permission decision the real one: the permissions
 * service asks the permission backend, which runs the portal's policy; for a user who is not a
 * deployer the policy answers "if they own the entity", and the permission backend has the real
 * catalog apply that to the entity. The catalog holds `catalogYaml` (Components and Locations);
 * users' groups are {@link memberships}. A request without a token is anonymous, as in production.
 * Waits until each of `entities` is in the catalog with its owner. For tests.
 */
export async function startPermissionBackend(options: {
  databases: TestDatabases;
  catalogYaml: string;
  entities: string[];
  gekko: JsonObject;
  features?: BackendFeature[];
}): Promise<PermissionBackend> {
  const { databases } = options;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-permissions-'));
  fs.writeFileSync(path.join(dir, 'catalog-info.yaml'), options.catalogYaml);
  const clients = new Map<string, Knex>();
  const backend = await startTestBackend({
    features: [
      gekkoPlugin,
      catalogPlugin,
      permissionPlugin,
      permissionModuleGekkoPolicy,
      authWithActors,
      mockServices.httpAuth.factory({
        defaultCredentials: mockCredentials.none(),
      }),
      mockServices.events.factory(),
      // Each plugin its own in-memory SQLite database from TestDatabases, as the other backend
      // tests have: the default test database goes through the dev-data store when the test runs
      // in a jest worker process, whose shutdown hook then asked a destroyed pool for a
      // connection ("Unable to acquire a connection"), failing the file in full runs only.
      createServiceFactory({
        service: coreServices.database,
        deps: { plugin: coreServices.pluginMetadata },
        factory: async ({ plugin }) => {
          const knex = await databases.init('SQLITE_3');
          clients.set(plugin.getId(), knex);
          return { getClient: async () => knex };
        },
      }),
      createServiceFactory({
        service: coreServices.userInfo,
        deps: {},
        factory: () => ({
          async getUserInfo(credentials) {
            const ref = (credentials.principal as { userEntityRef: string })
              .userEntityRef;
            return {
              userEntityRef: ref,
              ownershipEntityRefs: memberships[ref] ?? [ref],
            };
          },
        }),
      }),
      mockServices.rootConfig.factory({
        data: {
          permission: { enabled: true },
          catalog: {
            rules: [{ allow: ['Component', 'Location'] }],
            locations: [
              { type: 'file', target: path.join(dir, 'catalog-info.yaml') },
            ],
            processingInterval: { seconds: 1 },
          },
          gekko: options.gekko,
        },
      }),
      ...(options.features ?? []),
    ],
  });
  const stop = async () => {
    await backend.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const ref of options.entities) {
      const [kind, rest] = ref.split(':');
      await until(async () => {
        const res = await request(backend.server)
          .get(`/api/catalog/entities/by-name/${kind}/${rest}`)
          .set('Authorization', as(ava));
        return res.body.relations?.some((r: any) => r.type === 'ownedBy');
      }, `${ref} in the catalog with its owner`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { server: backend.server, gekkoDb: clients.get('gekko')!, stop };
}
