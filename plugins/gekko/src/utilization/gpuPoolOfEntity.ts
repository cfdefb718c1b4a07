import type { Entity } from '@backstage/catalog-model';
import {
  GEKKO_ANNOTATIONS,
  GPU_POOL_ENTITY_TYPE,
} from '@gekko/plugin-gekko-common';

/**
 * The GPU pool an entity stands for or runs on: a `gpu-pool` Resource is the pool of its own name,
 * a Component names its pool in the `gekko.io/gpu-pool` annotation.
 */
export function gpuPoolOfEntity(entity: Entity): string | undefined {
  if (
    entity.kind.toLocaleLowerCase('en-US') === 'resource' &&
    entity.spec?.type === GPU_POOL_ENTITY_TYPE
  ) {
    return entity.metadata.name;
  }
  return entity.metadata.annotations?.[GEKKO_ANNOTATIONS.gpuPool] || undefined;
}
