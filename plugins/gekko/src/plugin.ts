import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { gekkoApi } from './apis';
import {
  entityAuditContent,
  entityGpuPoolContent,
  entityGpuUtilizationContent,
} from './entityContents';

/**
 * The Gekko portal's front end: the Audit, GPU pool and GPU utilization entity tabs, and the client
 * of its backend.
 *
 * @public
 */
export const gekkoPlugin = createFrontendPlugin({
  pluginId: 'gekko',
  extensions: [
    gekkoApi,
    entityAuditContent,
    entityGpuPoolContent,
    entityGpuUtilizationContent,
  ],
});
