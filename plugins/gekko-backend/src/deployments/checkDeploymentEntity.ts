import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { InputError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { GEKKO_ANNOTATIONS } from '@gekko/plugin-gekko-common';

/**
 * Checks that the entity a deployment is for is in the catalog, as the caller sees it, and that its
 * `gekko.io/deployment-target` annotation, when it has one, names the same target; else a 400
 * naming `entityRef`.
 */
export async function checkDeploymentEntity(
  catalog: CatalogService,
  credentials: BackstageCredentials,
  entityRef: string,
  target: string,
): Promise<void> {
  const entity = await catalog.getEntityByRef(entityRef, { credentials });
  if (!entity) {
    throw new InputError(
      `entityRef: there is no entity ${entityRef} in the catalog (or you may not see it); pick one from the catalog`,
    );
  }
  const declared =
    entity.metadata.annotations?.[GEKKO_ANNOTATIONS.deploymentTarget];
  if (declared && declared !== target) {
    throw new InputError(
      `entityRef: ${entityRef} deploys to ${declared} (its ${GEKKO_ANNOTATIONS.deploymentTarget} annotation), not to ${target}`,
    );
  }
}
