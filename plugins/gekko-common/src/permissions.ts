import { RESOURCE_TYPE_CATALOG_ENTITY } from '@backstage/plugin-catalog-common/alpha';
import { createPermission } from '@backstage/plugin-permission-common';

/** Create, change or delete GPU pools. @public */
export const gekkoPoolManagePermission = createPermission({
  name: 'gekko.pool.manage',
  attributes: { action: 'update' },
});

/** Read the audit trail and verify its chain. @public */
export const gekkoAuditReadPermission = createPermission({
  name: 'gekko.audit.read',
  attributes: { action: 'read' },
});

/** Append an event to the audit trail on behalf of another system (CI, a trading service). @public */
export const gekkoAuditAppendPermission = createPermission({
  name: 'gekko.audit.append',
  attributes: { action: 'create' },
});

/** Run a model through the inference gateway. @public */
export const gekkoInferenceInvokePermission = createPermission({
  name: 'gekko.inference.invoke',
  attributes: {},
});

/** Register, deploy, undeploy and split traffic between model versions. @public */
export const gekkoModelManagePermission = createPermission({
  name: 'gekko.model.manage',
  attributes: { action: 'update' },
});

/**
 * Start a validated deployment of a catalog entity (and dry-run one). A resource permission on the
 * entity (`catalog-entity`, like Backstage's `catalog.entity.*`): check it with the entity's ref as
 * `resourceRef`. The portal's policy allows it to the entity's owners and to the configured deployers.
 * @public
 */
export const gekkoDeploymentCreatePermission = createPermission({
  name: 'gekko.deployment.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Roll a deployment of a catalog entity back to what it replaced. A resource permission on the
 * deployment's entity, like {@link gekkoDeploymentCreatePermission}; in the front end,
 * `usePermission({ permission: gekkoDeploymentRollbackPermission, resourceRef: entityRef })`.
 * @public
 */
export const gekkoDeploymentRollbackPermission = createPermission({
  name: 'gekko.deployment.rollback',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/** Every permission the Gekko portal defines. @public */
export const gekkoPermissions = [
  gekkoPoolManagePermission,
  gekkoAuditReadPermission,
  gekkoAuditAppendPermission,
  gekkoInferenceInvokePermission,
  gekkoModelManagePermission,
  gekkoDeploymentCreatePermission,
  gekkoDeploymentRollbackPermission,
];
