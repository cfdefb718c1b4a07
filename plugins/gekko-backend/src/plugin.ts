import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { gekkoPermissions } from '@gekko/plugin-gekko-common';
import { AuditTrail } from './audit/AuditTrail';
import { openGekkoDatabase } from './database/migrations';
import { GpuPoolService } from './pools/GpuPoolService';
import { GpuPoolStore } from './pools/GpuPoolStore';
import { AccessGuard } from './service/AccessGuard';
import { createRouter } from './service/createRouter';

/**
 * The Gekko portal's control plane: GPU pools and the tamper-evident audit trail.
 *
 * @public
 */
export const gekkoPlugin = createBackendPlugin({
  pluginId: 'gekko',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        database: coreServices.database,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        events: eventsServiceRef,
      },
      async init(deps) {
        const { config, logger, httpRouter, permissionsRegistry } = deps;
        permissionsRegistry.addPermissions(gekkoPermissions);

        const db = await openGekkoDatabase(deps.database);
        const audit = new AuditTrail(db, { logger, auditor: deps.auditor });
        const guard = new AccessGuard(deps.httpAuth, deps.permissions, audit);
        const pools = new GpuPoolService(
          db,
          new GpuPoolStore(db),
          audit,
          deps.events,
          logger,
        );
        await pools.seedFromConfig(
          (config.getOptional('gekko.gpuPools') as any[] | undefined) ?? [],
        );

        httpRouter.use(createRouter({ logger, guard, audit, pools }));
      },
    });
  },
});
