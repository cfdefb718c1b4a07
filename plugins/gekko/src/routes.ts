import { createRouteRef } from '@backstage/frontend-plugin-api';

/** The GPU utilization tab of the current entity's page, for links from the other tabs. */
export const gpuUtilizationRouteRef = createRouteRef();

/** The Trading health tab of the current entity's page, for the link from its overview card. */
export const tradingHealthRouteRef = createRouteRef();

/** The path of the Trading health tab under an entity's page. */
export const TRADING_HEALTH_PATH = 'trading-health';
