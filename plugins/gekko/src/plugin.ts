import { createFrontendPlugin } from '@backstage/frontend-plugin-api';
import { gekkoApi } from './apis';
import {
  entitySystemTradingHealthCard,
  entityTradingHealthCard,
} from './entityCards';
import {
  entityAuditContent,
  entityDeploymentsContent,
  entityGpuPoolContent,
  entityGpuUtilizationContent,
  entityTradingHealthContent,
} from './entityContents';

/**
 * The Gekko portal's front end: the Audit, GPU pool, GPU utilization, Deployments and Trading health
 * entity tabs, the Trading health cards of services and Systems, and the client of its backend.
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
    entityTradingHealthContent,
    entityTradingHealthCard,
    entitySystemTradingHealthCard,
  ],
});
