import { Config } from '@backstage/config';
import { UserInfoService } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isResourcePermission,
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
  /** Deploy and roll back any entity; the entity's owners may anyway. */
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

const deploymentPermissions = [
  gekkoDeploymentCreatePermission.name,
  gekkoDeploymentRollbackPermission.name,
];

/**
 * The portal's permission policy: GPU pools and model versions are managed by the platform team, the
 * audit trail is read and models are invoked by every signed-in user, an entity is deployed and rolled
 * back by its owners and by the platform team, and everything that is not Gekko's is allowed as
 * Backstage's template does. Each holder list is configurable (`gekko.permissions`).
 *
 * The deployment permissions are permissions on the catalog entity: a deployer gets ALLOW, anyone
 * else a conditional decision `isEntityOwner` with their ownership refs, which the catalog evaluates
 * on the entity (`resourceRef`) the permission is checked on.
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
    const { permission } = request;
    if (deploymentPermissions.includes(permission.name)) {
      return this.deploymentDecision(request, user);
    }
    const holders = this.holdersOf(permission.name);
    if (holders === 'anyone') return { result: AuthorizeResult.ALLOW };
    if (!user) return { result: AuthorizeResult.DENY };
    if (holders === 'every-user') return { result: AuthorizeResult.ALLOW };
    const refs = await this.ownershipOf(user);
    return {
      result: refs.some(ref => holders.includes(ref.toLocaleLowerCase('en-US')))
        ? AuthorizeResult.ALLOW
        : AuthorizeResult.DENY,
    };
  }

  /** Deployers may deploy any entity; everyone else only the entities they own. */
  private async deploymentDecision(
    { permission }: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (!user) return { result: AuthorizeResult.DENY };
    const refs = await this.ownershipOf(user);
    const lower = refs.map(r => r.toLocaleLowerCase('en-US'));
    if (lower.some(ref => this.holders.deployers.includes(ref))) {
      return { result: AuthorizeResult.ALLOW };
    }
    // Asked as a basic permission (an outdated client), there is no entity to own.
    if (!isResourcePermission(permission, 'catalog-entity')) {
      return { result: AuthorizeResult.DENY };
    }
    // The catalog compares the claims with the entity's ownedBy relations as written, so both
    // spellings go along: refs as the sign-in resolver wrote them, and lower-case.
    return createCatalogConditionalDecision(
      permission,
      catalogConditions.isEntityOwner({
        claims: [...new Set([...refs, ...lower])],
      }),
    );
  }

  private async ownershipOf(user: PolicyQueryUser): Promise<string[]> {
    const { ownershipEntityRefs } = await this.userInfo.getUserInfo(
      user.credentials,
    );
    return ownershipEntityRefs;
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
      default:
        return 'anyone';
    }
  }
}
