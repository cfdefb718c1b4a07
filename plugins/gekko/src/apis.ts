import {
  ApiBlueprint,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { gekkoApiRef } from './api/GekkoApi';
import { GekkoClient } from '@gekko/plugin-gekko-common';

/**
 * Provides the {@link GekkoApi}: the gekko backend's one client, from `@gekko/plugin-gekko-common`.
 *
 * @public
 */
export const gekkoApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: gekkoApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new GekkoClient({ discoveryApi, fetchApi }),
    }),
});
