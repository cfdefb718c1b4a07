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

/** Start a validated deployment (and dry-run one). @public */
export const gekkoDeploymentCreatePermission = createPermission({
  name: 'gekko.deployment.create',
  attributes: { action: 'create' },
});

/** Roll a deployment back to what it replaced. @public */
export const gekkoDeploymentRollbackPermission = createPermission({
  name: 'gekko.deployment.rollback',
  attributes: { action: 'update' },
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
