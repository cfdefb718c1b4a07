import {
  Entity,
  RELATION_DEPENDENCY_OF,
  RELATION_DEPENDS_ON,
  getCompoundEntityRef,
} from '@backstage/catalog-model';
import { LocationSpec } from '@backstage/plugin-catalog-common';
import {
  CatalogProcessor,
  CatalogProcessorEmit,
  processingResult,
} from '@backstage/plugin-catalog-node';
import {
  GEKKO_ANNOTATIONS,
  validateGekkoAnnotations,
} from '@gekko/plugin-gekko-common';

/**
 * Validates the `gekko.io/*` annotations of Components (a bad value is a processing error shown on
 * the entity) and relates a service to the GPU pool it runs on (`dependsOn` / `dependencyOf`).
 */
export class GekkoAnnotationProcessor implements CatalogProcessor {
  getProcessorName(): string {
    return 'GekkoAnnotationProcessor';
  }

  async postProcessEntity(
    entity: Entity,
    location: LocationSpec,
    emit: CatalogProcessorEmit,
  ): Promise<Entity> {
    if (entity.kind !== 'Component') return entity;
    const annotations = entity.metadata.annotations;
    const problems = validateGekkoAnnotations(annotations);
    for (const problem of problems) {
      emit(processingResult.inputError(location, problem));
    }
    const pool = annotations?.[GEKKO_ANNOTATIONS.gpuPool];
    if (pool && !problems.some(p => p.startsWith(GEKKO_ANNOTATIONS.gpuPool))) {
      const self = getCompoundEntityRef(entity);
      const poolRef = { kind: 'Resource', namespace: 'default', name: pool };
      emit(
        processingResult.relation({
          source: self,
          type: RELATION_DEPENDS_ON,
          target: poolRef,
        }),
      );
      emit(
        processingResult.relation({
          source: poolRef,
          type: RELATION_DEPENDENCY_OF,
          target: self,
        }),
      );
    }
    return entity;
  }
}
