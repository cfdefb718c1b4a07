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
import { createAuditCapability } from './audit/createAuditCapability';
import { readGekkoConfig } from './config/readGekkoConfig';
import { openGekkoDatabase } from './database/migrations';
import { createDeploymentsCapability } from './deployments/createDeploymentsCapability';
import { DeploymentTargets } from './deployments/DeploymentTargets';
import { createGpuCapability } from './gpu/createGpuCapability';
import { createInferenceCapability } from './inference/createInferenceCapability';
import { createPoolsCapability } from './pools/createPoolsCapability';
import { createMonitoring } from './monitoring/createMonitoring';
import { createRouter } from './service/createRouter';
import { createTradingCapability } from './trading/createTradingCapability';

/**
 * The Gekko portal's control plane: GPU pools, the GPU manager and inference gateway, deployments,
 * trading health, and the tamper-evident audit trail. Each capability folder builds its own services and routes;
 * this file only wires them together.
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
      async init(deps) {
        const { logger, auth, events } = deps;
        const config = readGekkoConfig(deps.rootConfig);
        deps.permissionsRegistry.addPermissions(gekkoPermissions);
        const db = await openGekkoDatabase(deps.database);

        const audit = createAuditCapability({
          db,
          ...deps,
          config: config.audit,
          nats: config.nats,
        });
        const { guard, changes, trail } = audit;
        const shared = { db, logger, guard, changes };
        const { registry, limits, measure } = createMonitoring({
          ...{ trail, logger, rateLimits: config.rateLimits },
        });
        const pools = await createPoolsCapability({
          ...shared,
          events,
          seed: config.gpuPools,
        });
        const gpu = createGpuCapability({
          ...{ ...shared, trail, config, pools, registry },
        });
        const inference = await createInferenceCapability({
          ...shared,
          ...{ auth, events, gpu, pools, limits, config: config.inference },
        });
        await gpu.start(inference);
        targets.add(inference.deploymentTarget);
        const deployments = await createDeploymentsCapability({
          ...{ ...shared, targets, catalog: deps.catalog },
          leaseMs: config.deployments.leaseMs,
          signals: deps.signals,
          registry,
        });

        const trading = await createTradingCapability({
          ...{ db, logger, auth, guard, trail, catalog: deps.catalog },
          config: config.health,
          registry,
          notifications: deps.notifications,
        });

        const capabilities = [
          audit,
          pools,
          gpu,
          inference,
          deployments,
          trading,
        ];
        deps.lifecycle.addShutdownHook(async () => {
          for (const c of [...capabilities].reverse()) await c.stop?.();
        });
        deps.httpRouter.use(
          createRouter({
            logger,
            capabilities,
            measure,
            limitMutations: limits.limitMutations(guard),
          }),
        );
      },
    });
  },
});
