import { Config } from '@backstage/config';
import { UserInfoService } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import {
  gekkoAuditAppendPermission,
  gekkoDeploymentCreatePermission,
  gekkoDeploymentRollbackPermission,
  gekkoAuditReadPermission,
  gekkoInferenceInvokePermission,
  gekkoModelManagePermission,
  gekkoPoolManagePermission,
} from '@gekko/plugin-gekko-common';

/** Who holds each Gekko permission: entity refs of groups or users; undefined = every user. */
export interface GekkoPermissionHolders {
  poolManagers: string[];
  auditReaders?: string[];
  auditAppenders: string[];
  modelManagers: string[];
  inferenceInvokers?: string[];
  deployers: string[];
}

/** Reads `gekko.permissions` with its defaults. */
export function readGekkoPermissionHolders(
  config: Config,
): GekkoPermissionHolders {
  const lower = (refs: string[] | undefined) =>
    refs?.map(r => r.toLocaleLowerCase('en-US'));
  return {
    poolManagers: lower(
      config.getOptionalStringArray('gekko.permissions.poolManagers'),
    ) ?? ['group:default/platform'],
    auditReaders: lower(
      config.getOptionalStringArray('gekko.permissions.auditReaders'),
    ),
    auditAppenders: lower(
      config.getOptionalStringArray('gekko.permissions.auditAppenders'),
    ) ?? ['group:default/platform'],
    modelManagers: lower(
      config.getOptionalStringArray('gekko.permissions.modelManagers'),
    ) ?? ['group:default/platform'],
    inferenceInvokers: lower(
      config.getOptionalStringArray('gekko.permissions.inferenceInvokers'),
    ),
    deployers: lower(
      config.getOptionalStringArray('gekko.permissions.deployers'),
    ) ?? ['group:default/platform'],
  };
}

/**
 * The portal's permission policy: GPU pools and model versions are managed by the platform team, the
 * audit trail is read and models are invoked by every signed-in user, and everything that is not Gekko's is allowed as Backstage's
 * template does. Each holder list is configurable (`gekko.permissions`).
 */
export class GekkoPermissionPolicy implements PermissionPolicy {
  constructor(
    private readonly holders: GekkoPermissionHolders,
    private readonly userInfo: UserInfoService,
  ) {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const holders = this.holdersOf(request.permission.name);
    if (holders === 'anyone') return { result: AuthorizeResult.ALLOW };
    if (!user) return { result: AuthorizeResult.DENY };
    if (holders === 'every-user') return { result: AuthorizeResult.ALLOW };
    const { ownershipEntityRefs } = await this.userInfo.getUserInfo(
      user.credentials,
    );
    const refs = ownershipEntityRefs.map(r => r.toLocaleLowerCase('en-US'));
    return {
      result: refs.some(ref => holders.includes(ref))
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    };
  }

  private holdersOf(permission: string): string[] | 'every-user' | 'anyone' {
    switch (permission) {
      case gekkoPoolManagePermission.name:
        return this.holders.poolManagers;
      case gekkoAuditReadPermission.name:
        return this.holders.auditReaders ?? 'every-user';
      case gekkoAuditAppendPermission.name:
        return this.holders.auditAppenders;
      case gekkoModelManagePermission.name:
        return this.holders.modelManagers;
      case gekkoInferenceInvokePermission.name:
        return this.holders.inferenceInvokers ?? 'every-user';
      case gekkoDeploymentCreatePermission.name:
      case gekkoDeploymentRollbackPermission.name:
        return this.holders.deployers;
      default:
        return 'anyone';
    }
  }
}
