import { AccessGuard } from '../service/AccessGuard';
import { GekkoCapability } from '../service/createRouter';
import { DeploymentTargets } from './DeploymentTargets';
import { createDeploymentsRouter } from './router';

/** Deployments: the targets backend modules registered, and their routes. */
export function createDeploymentsCapability(options: {
  guard: AccessGuard;
  targets: DeploymentTargets;
}): GekkoCapability {
  return { router: createDeploymentsRouter(options) };
}
