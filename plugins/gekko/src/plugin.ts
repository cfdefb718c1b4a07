import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { gekkoApi } from './apis';
import {
  entityAuditContent,
  entityDeploymentsContent,
  entityGpuPoolContent,
  entityGpuUtilizationContent,
} from './entityContents';

/**
 * The Gekko portal's front end: the Audit, GPU pool, GPU utilization and Deployments entity tabs, and the client
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
    entityDeploymentsContent,
  ],
});
