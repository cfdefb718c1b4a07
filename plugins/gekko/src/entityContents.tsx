import { EntityContentBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { GPU_POOL_ENTITY_TYPE } from '@gekko/plugin-gekko-common';

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
