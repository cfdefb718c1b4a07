import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { DefaultGekkoInferenceService } from './DefaultGekkoInferenceService';
import type { GekkoInferenceService } from './GekkoInferenceService';

/**
 * The Gekko inference gateway, for backend plugins: `deps: { inference: gekkoInferenceServiceRef }`.
 *
 * @public
 */
export const gekkoInferenceServiceRef = createServiceRef<GekkoInferenceService>(
  {
    id: 'gekko.inference',
    scope: 'plugin',
    defaultFactory: async service =>
      createServiceFactory({
        service,
        deps: { discovery: coreServices.discovery, auth: coreServices.auth },
        factory: ({ discovery, auth }) =>
          new DefaultGekkoInferenceService({ discovery, auth }),
      }),
  },
);
