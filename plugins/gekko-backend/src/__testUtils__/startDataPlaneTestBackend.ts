import { BackendFeature } from '@backstage/backend-plugin-api';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { Knex } from 'knex';
import request from 'supertest';
import { gekkoPlugin } from '../plugin';

/** A test backend and the data plane's predict URL of model `nhits-price`. */
export interface DataPlaneTestBackend {
  server: Parameters<typeof request>[0];
  dataPlane: string;
}

/**
 * A backend with the gekko plugin on `knex` and its inference data plane on a free port, with no
 * workers and no models: a predict that the checks let through gets the gateway's 404. `gekko` adds
 * to the plugin's config (`rateLimits`, say), `features` to the backend (a permissions service).
 * For tests.
 */
export async function startDataPlaneTestBackend(
  knex: Knex,
  options: {
    gekko?: Record<string, unknown>;
    features?: BackendFeature[];
  } = {},
): Promise<DataPlaneTestBackend> {
  const { server } = await startTestBackend({
    features: [
      gekkoPlugin,
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          gekko: {
            inference: { embedded: { workers: 0 }, dataPlane: { port: 0 } },
            ...options.gekko,
          },
        },
      }),
      mockServices.events.factory(),
      ...(options.features ?? []),
    ],
  });
  const where = await request(server)
    .get('/api/gekko/inference/data-plane')
    .set('Authorization', mockCredentials.user.header());
  const dataPlane = `${where.body.url}/api/gekko/inference/models/nhits-price/predict`;
  return { server, dataPlane };
}

/** One JSON predict of one value to the data plane's predict URL, with `token` as its bearer. */
export function predictOnDataPlane(
  dataPlane: string,
  token = mockCredentials.user.token('user:default/ava'),
): Promise<Response> {
  return fetch(dataPlane, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ inputs: [[1]] }),
  });
}
