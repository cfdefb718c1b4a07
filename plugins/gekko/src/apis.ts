import {
  ApiBlueprint,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { gekkoApiRef } from './api/GekkoApi';
import { GekkoClient } from './api/GekkoClient';

/**
 * Provides the {@link GekkoApi} backed by the Gekko backend.
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
