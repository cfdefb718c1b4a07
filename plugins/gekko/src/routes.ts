import { createRouteRef } from '@backstage/frontend-plugin-api';

/** The GPU utilization tab of the current entity's page, for links from the other tabs. */
export const gpuUtilizationRouteRef = createRouteRef();
