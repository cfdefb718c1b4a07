import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import { gekkoPermissions } from '@gekko/plugin-gekko-common';
import { gekkoDeploymentTargetsExtensionPoint } from '@gekko/plugin-gekko-node';
import { DeploymentTargets } from './deployments/DeploymentTargets';
import { createCapabilities } from './service/createCapabilities';

/**
 * The Gekko portal's control plane: GPU pools, the GPU manager and inference gateway, deployments,
 * trading health, and the tamper-evident audit trail. Each capability folder builds its own services
 * and routes, `service/createCapabilities` puts them together; this file only registers them with
 * the backend.
 *
 * @public
 */
export const gekkoPlugin = createBackendPlugin({
  pluginId: 'gekko',
  register(env) {
    const targets = new DeploymentTargets();
    env.registerExtensionPoint(gekkoDeploymentTargetsExtensionPoint, {
      addDeploymentTarget: (...added) => targets.add(...added),
    });

    env.registerInit({
      deps: {
        rootConfig: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        lifecycle: coreServices.lifecycle,
        events: eventsServiceRef,
        catalog: catalogServiceRef,
        signals: signalsServiceRef,
        notifications: notificationService,
      },
      async init({ httpRouter, lifecycle, permissionsRegistry, ...deps }) {
        permissionsRegistry.addPermissions(gekkoPermissions);
        const gekko = await createCapabilities(deps, targets);
        lifecycle.addShutdownHook(() => gekko.stop());
        httpRouter.use(gekko.router);
      },
    });
  },
});
