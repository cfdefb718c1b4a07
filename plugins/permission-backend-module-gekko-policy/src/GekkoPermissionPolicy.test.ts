import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  AuthorizeResult,
  createPermission,
} from '@backstage/plugin-permission-common';
import { PolicyQueryUser } from '@backstage/plugin-permission-node';
import {
  gekkoAuditAppendPermission,
  gekkoAuditReadPermission,
  gekkoDeploymentCreatePermission,
  gekkoDeploymentRollbackPermission,
  gekkoPoolManagePermission,
} from '@gekko/plugin-gekko-common';
import {
  GekkoPermissionPolicy,
  readGekkoPermissionHolders,
} from './GekkoPermissionPolicy';

const memberships: Record<string, string[]> = {
  'user:default/ava': ['user:default/ava', 'group:default/platform'],
  'user:default/priya': ['user:default/priya', 'group:default/trading-ops'],
};

const userInfo = mockServices.userInfo.mock({
  getUserInfo: async credentials => {
    const ref = (credentials.principal as { userEntityRef: string })
      .userEntityRef;
    return { userEntityRef: ref, ownershipEntityRefs: memberships[ref] };
  },
});

function as(ref: string): PolicyQueryUser {
  return { credentials: mockCredentials.user(ref) } as PolicyQueryUser;
}

describe('GekkoPermissionPolicy', () => {
  const policy = new GekkoPermissionPolicy(
    readGekkoPermissionHolders(new ConfigReader({})),
    userInfo,
  );
  const decide = async (permission: { name: string }, user?: PolicyQueryUser) =>
    (await policy.handle({ permission } as any, user)).result;

  it('lets the platform team, and only them, manage GPU pools', async () => {
    expect(
      await decide(gekkoPoolManagePermission, as('user:default/ava')),
    ).toBe(AuthorizeResult.ALLOW);
    expect(
      await decide(gekkoPoolManagePermission, as('user:default/priya')),
    ).toBe(AuthorizeResult.DENY);
    expect(await decide(gekkoPoolManagePermission)).toBe(AuthorizeResult.DENY);
  });

  it('lets every signed-in user read the audit trail, and only the platform team append to it', async () => {
    expect(
      await decide(gekkoAuditReadPermission, as('user:default/priya')),
    ).toBe(AuthorizeResult.ALLOW);
    expect(await decide(gekkoAuditReadPermission)).toBe(AuthorizeResult.DENY);
    expect(
      await decide(gekkoAuditAppendPermission, as('user:default/priya')),
    ).toBe(AuthorizeResult.DENY);
    expect(
      await decide(gekkoAuditAppendPermission, as('user:default/ava')),
    ).toBe(AuthorizeResult.ALLOW);
  });

  it.each(
    [gekkoDeploymentCreatePermission, gekkoDeploymentRollbackPermission].map(
      p => [p.name, p] as const,
    ),
  )(
    'lets the platform team, and only them, hold %s by default',
    async (_name, permission) => {
      expect(await decide(permission, as('user:default/ava'))).toBe(
        AuthorizeResult.ALLOW,
      );
      expect(await decide(permission, as('user:default/priya'))).toBe(
        AuthorizeResult.DENY,
      );
    },
  );

  it('leaves permissions that are not Gekko’s allowed', async () => {
    const other = createPermission({
      name: 'catalog.entity.read',
      attributes: { action: 'read' },
    });
    expect(await decide(other, as('user:default/priya'))).toBe(
      AuthorizeResult.ALLOW,
    );
  });

  it('takes its holders from config', async () => {
    const configured = new GekkoPermissionPolicy(
      readGekkoPermissionHolders(
        new ConfigReader({
          gekko: {
            permissions: {
              poolManagers: ['Group:default/Trading-Ops'],
              auditReaders: ['group:default/platform'],
            },
          },
        }),
      ),
      userInfo,
    );
    const result = async (permission: { name: string }, ref: string) =>
      (await configured.handle({ permission } as any, as(ref))).result;
    expect(await result(gekkoPoolManagePermission, 'user:default/priya')).toBe(
      AuthorizeResult.ALLOW,
    );
    expect(await result(gekkoPoolManagePermission, 'user:default/ava')).toBe(
      AuthorizeResult.DENY,
    );
    expect(await result(gekkoAuditReadPermission, 'user:default/priya')).toBe(
      AuthorizeResult.DENY,
    );
  });
});
