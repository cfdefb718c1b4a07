import {
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { gekkoPermissions } from '@gekko/plugin-gekko-common';
import path from 'node:path';
import { AuditTrail } from './audit/AuditTrail';
import { openGekkoDatabase } from './database/migrations';
import { EmbeddedWorkers } from './gpu/EmbeddedWorkers';
import { GpuManager } from './gpu/GpuManager';
import { readNatsConfig, RemoteWorkers } from './gpu/RemoteWorkers';
import { TelemetryHistory } from './gpu/TelemetryHistory';
import { InferenceDataPlane } from './inference/DataPlaneServer';
import { InferenceGateway } from './inference/InferenceGateway';
import { ModelService } from './inference/ModelService';
import { ModelStore } from './inference/ModelStore';
import { InferenceMetrics } from './monitoring/InferenceMetrics';
import { GpuPoolService } from './pools/GpuPoolService';
import { GpuPoolStore } from './pools/GpuPoolStore';
import { AccessGuard } from './service/AccessGuard';
import { createRouter } from './service/createRouter';

/**
 * The Gekko portal's control plane: GPU pools, the GPU manager and inference gateway, and the
 * tamper-evident audit trail.
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
        auth: coreServices.auth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        auditor: coreServices.auditor,
        lifecycle: coreServices.lifecycle,
        events: eventsServiceRef,
      },
      async init(deps) {
        const { config, logger, httpRouter, permissionsRegistry } = deps;
        permissionsRegistry.addPermissions(gekkoPermissions);

        const db = await openGekkoDatabase(deps.database);
        const audit = new AuditTrail(db, { logger, auditor: deps.auditor });
        const guard = new AccessGuard(deps.httpAuth, deps.permissions, audit);
        const poolStore = new GpuPoolStore(db);
        const pools = new GpuPoolService(
          db,
          poolStore,
          audit,
          deps.events,
          logger,
        );
        await pools.seedFromConfig(
          (config.getOptional('gekko.gpuPools') as any[] | undefined) ?? [],
        );

        const heartbeatIntervalMs =
          config.getOptionalNumber('gekko.gpu.heartbeatIntervalMs') ?? 1000;
        const manager = new GpuManager({ logger, heartbeatIntervalMs });
        const history = new TelemetryHistory(db, {
          logger,
          retentionHours: config.getOptionalNumber(
            'gekko.gpu.historyRetentionHours',
          ),
        });
        manager.addListener({
          heartbeat: worker => history.record(worker),
          joined: worker => {
            poolStore.findPool(worker.pool).then(
              pool => {
                if (!pool) {
                  logger.warn(
                    `Worker ${worker.id} joined pool ${worker.pool}, which the portal does not know: it serves only models deployed to that pool name. Create the pool (POST /api/gekko/pools) to see it in the catalog`,
                  );
                }
              },
              () => {},
            );
          },
        });
        const metrics = new InferenceMetrics(manager);

        const modelsDir = path.resolve(
          config.getOptionalString('gekko.inference.modelsDir') ?? 'models',
        );
        const models = new ModelService(
          db,
          new ModelStore(db),
          poolStore,
          audit,
          manager,
          { logger, modelsDir },
        );
        await models.refresh();
        await models.seedFromConfig(
          (config.getOptional('gekko.inference.models') as
            | unknown[]
            | undefined) ?? [],
        );
        const gateway = new InferenceGateway(models, manager, metrics, {
          defaultDeadlineMs: config.getOptionalNumber(
            'gekko.inference.defaultDeadlineMs',
          ),
        });

        const stopSweeping = manager.start();
        const stopHistory = history.start();
        const embedded = new EmbeddedWorkers({
          count:
            config.getOptionalNumber('gekko.inference.embedded.workers') ?? 2,
          pool:
            config.getOptionalString('gekko.inference.embedded.pool') ??
            'cpu-dr',
          intraOpThreads: config.getOptionalNumber(
            'gekko.inference.embedded.intraOpThreads',
          ),
          heartbeatIntervalMs,
          modelsDir,
          events: manager,
          logger,
        });
        embedded.start();

        const nats = readNatsConfig(config);
        const remote = nats
          ? new RemoteWorkers({
              ...nats,
              events: manager,
              readArtifact: sha => models.readArtifact(sha),
              logger,
            })
          : undefined;
        await remote?.start();

        let dataPlane: InferenceDataPlane | undefined;
        let dataPlaneUrl: string | undefined;
        const dataPlanePort = config.getOptionalNumber(
          'gekko.inference.dataPlane.port',
        );
        if (dataPlanePort !== undefined) {
          dataPlane = new InferenceDataPlane({
            host:
              config.getOptionalString('gekko.inference.dataPlane.host') ??
              '127.0.0.1',
            port: dataPlanePort,
            auth: deps.auth,
            guard,
            gateway,
            logger,
          });
          dataPlaneUrl = await dataPlane.start();
        }

        deps.lifecycle.addShutdownHook(async () => {
          await dataPlane?.stop();
          await remote?.stop();
          await embedded.stop();
          stopSweeping();
          await stopHistory();
          await manager.close();
        });

        httpRouter.use(
          createRouter({
            logger,
            guard,
            audit,
            pools,
            manager,
            history,
            metrics,
            models,
            gateway,
            embedded,
            dataPlaneUrl,
            chaos:
              config.getOptionalBoolean('gekko.gpu.chaos.enabled') ?? false,
          }),
        );
      },
    });
  },
});
