import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    providers?: {
      /** The GPU pool entity provider of the Gekko portal. */
      gekkoGpuPools?: {
        /**
         * How often all pools are read again (changes made through the API show at once anyway).
         * Default: every 5 minutes.
         */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
      };
    };
  };
}
