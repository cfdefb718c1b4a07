import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import { eventsServiceRef } from '@backstage/plugin-events-node';
import { GekkoClient } from '@gekko/plugin-gekko-common';
import { GekkoAnnotationProcessor } from './processors/GekkoAnnotationProcessor';
import { GekkoPoolEntityProvider } from './providers/GekkoPoolEntityProvider';

/**
 * Catalog module of the Gekko portal: GPU pools as `gpu-pool` Resources, `gekko.io/*` annotations
 * validated, services related to their pools.
 *
 * @public
 */
export const catalogModuleGekko = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'gekko',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        discovery: coreServices.discovery,
        auth: coreServices.auth,
        events: eventsServiceRef,
      },
      async init({
        catalog,
        config,
        logger,
        scheduler,
        discovery,
        auth,
        events,
      }) {
        const scheduleConfig = config.getOptionalConfig(
          'catalog.providers.gekkoGpuPools.schedule',
        );
        const taskRunner = scheduler.createScheduledTaskRunner(
          scheduleConfig
            ? readSchedulerServiceTaskScheduleDefinitionFromConfig(
                scheduleConfig,
              )
            : {
                frequency: { minutes: 5 },
                timeout: { minutes: 2 },
                initialDelay: { seconds: 5 },
              },
        );
        catalog.addProcessor(new GekkoAnnotationProcessor());
        catalog.addEntityProvider(
          new GekkoPoolEntityProvider({
            client: new GekkoClient({ discoveryApi: discovery }),
            auth,
            events,
            taskRunner,
            logger,
          }),
        );
      },
    });
  },
});
