import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import {
  GEKKO_ANNOTATIONS,
  GPU_POOL_ENTITY_TYPE,
} from '@gekko/plugin-gekko-common';
import {
  gpuUtilizationRouteRef,
  TRADING_HEALTH_PATH,
  tradingHealthRouteRef,
} from './routes';

/** Components the portal judges as trading services: those with `gekko.io/slos`. */
export const isTradingService = {
  kind: 'component',
  [`metadata.annotations.${GEKKO_ANNOTATIONS.slos}` as const]: {
    $exists: true,
  },
};

/**
 * The Audit tab on Components, Resources and Systems.
 *
 * @public
 */
export const entityAuditContent = EntityContentBlueprint.make({
  name: 'audit',
  params: {
    path: 'audit',
    title: 'Audit',
    filter: { kind: { $in: ['component', 'resource', 'system'] } },
    loader: () => import('./audit/AuditContent').then(m => <m.AuditContent />),
  },
});

/**
 * The GPU pool tab on Resources of type `gpu-pool`.
 *
 * @public
 */
export const entityGpuPoolContent = EntityContentBlueprint.make({
  name: 'gpu-pool',
  params: {
    path: 'gpu-pool',
    title: 'GPU pool',
    filter: { kind: 'resource', 'spec.type': GPU_POOL_ENTITY_TYPE },
    loader: () =>
      import('./pools/GpuPoolContent').then(m => <m.GpuPoolContent />),
  },
});

/**
 * The GPU utilization tab: live workers, 15 minute and 24 hour charts and model versions of a GPU
 * pool, on `gpu-pool` Resources and on Components that name their pool in `gekko.io/gpu-pool`.
 *
 * @public
 */
export const entityGpuUtilizationContent = EntityContentBlueprint.make({
  name: 'gpu-utilization',
  params: {
    path: 'gpu-utilization',
    title: 'GPU utilization',
    routeRef: gpuUtilizationRouteRef,
    filter: {
      $any: [
        { kind: 'resource', 'spec.type': GPU_POOL_ENTITY_TYPE },
        {
          kind: 'component',
          [`metadata.annotations.${GEKKO_ANNOTATIONS.gpuPool}` as const]: {
            $exists: true,
          },
        },
      ],
    },
    loader: () =>
      import('./utilization/GpuUtilizationContent').then(m => (
        <m.GpuUtilizationContent />
      )),
  },
});

/**
 * The Deployments tab: what runs now, the deployment in flight (live), the evidence of its
 * analyses, the history and one-click rollback; on Components that deploy through the portal
 * (`gekko.io/deployment-target`) and on `gpu-pool` Resources.
 *
 * @public
 */
export const entityDeploymentsContent = EntityContentBlueprint.make({
  name: 'deployments',
  params: {
    path: 'deployments',
    title: 'Deployments',
    filter: {
      $any: [
        { kind: 'resource', 'spec.type': GPU_POOL_ENTITY_TYPE },
        {
          kind: 'component',
          [`metadata.annotations.${GEKKO_ANNOTATIONS.deploymentTarget}` as const]:
            { $exists: true },
        },
      ],
    },
    loader: () =>
      import('./deployments/DeploymentsContent').then(m => (
        <m.DeploymentsContent />
      )),
  },
});

/**
 * The Trading health tab: the service's state, its SLOs with error budgets and burn rates, charts of
 * their indicators, its venues, business metrics and alerts, refreshed every 5 seconds; on
 * Components with `gekko.io/slos`.
 *
 * @public
 */
export const entityTradingHealthContent = EntityContentBlueprint.make({
  name: 'trading-health',
  params: {
    path: TRADING_HEALTH_PATH,
    title: 'Trading health',
    routeRef: tradingHealthRouteRef,
    filter: isTradingService,
    loader: () =>
      import('./health/TradingHealthContent').then(m => (
        <m.TradingHealthContent />
      )),
  },
});
