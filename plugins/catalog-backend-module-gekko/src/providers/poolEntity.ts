import {
  ANNOTATION_LOCATION,
  ANNOTATION_ORIGIN_LOCATION,
  Entity,
} from '@backstage/catalog-model';
import {
  GEKKO_ANNOTATIONS,
  GEKKO_SYSTEM,
  GPU_POOL_ENTITY_TYPE,
  GpuPool,
  formatNodeSelector,
} from '@gekko/plugin-gekko-common';

const ACCELERATOR_TITLES: Record<GpuPool['accelerator'], string> = {
  mps: 'Apple Silicon GPU (MPS)',
  cuda: 'NVIDIA CUDA',
  cpu: 'CPU only',
};

/** The catalog entity of a GPU pool: a Resource of type gpu-pool. */
export function poolToEntity(pool: GpuPool, providerName: string): Entity {
  const location = `${providerName}:${pool.name}`;
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name: pool.name,
      namespace: 'default',
      title: pool.title,
      description:
        pool.description ??
        `${ACCELERATOR_TITLES[pool.accelerator]} pool in region ${
          pool.region
        }: ${pool.capacity.devices} devices, ${pool.capacity.memoryGiB} GiB`,
      annotations: {
        [ANNOTATION_LOCATION]: location,
        [ANNOTATION_ORIGIN_LOCATION]: location,
        [GEKKO_ANNOTATIONS.accelerator]: pool.accelerator,
        [GEKKO_ANNOTATIONS.region]: pool.region,
        [GEKKO_ANNOTATIONS.nodeSelector]: formatNodeSelector(pool.nodeSelector),
      },
      tags: ['gpu-pool', pool.accelerator, pool.region],
    },
    spec: {
      type: GPU_POOL_ENTITY_TYPE,
      owner: pool.owner,
      system: GEKKO_SYSTEM,
    },
  };
}
