import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { GekkoInferenceClient } from './GekkoInferenceClient';

/**
 * The Gekko inference gateway, for backend plugins: `deps: { inference: gekkoInferenceServiceRef }`.
 *
 * @public
 */
export const gekkoInferenceServiceRef = createServiceRef<GekkoInferenceClient>({
  id: 'gekko.inference',
  scope: 'plugin',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: { discovery: coreServices.discovery, auth: coreServices.auth },
      factory: ({ discovery, auth }) =>
        new GekkoInferenceClient({ discovery, auth }),
    }),
});
