import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { permissionRules } from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  createPermission,
  PermissionCriteria,
  PermissionCondition,
  PolicyDecision,
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

/** A catalog entity, as the catalog's permission rules take it. */
type Entity = Parameters<typeof permissionRules.isEntityOwner.apply>[0];

const memberships: Record<string, string[]> = {
  'user:default/ava': ['user:default/ava', 'group:default/platform'],
  'user:default/priya': ['user:default/priya', 'group:default/trading-ops'],
  'user:default/sam': ['user:default/sam', 'group:default/research'],
};

/** A service as the catalog holds it, owned by trading-ops (the ownedBy relation it stitches). */
const orderExecution: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'order-execution', namespace: 'default' },
  spec: { owner: 'group:default/trading-ops' },
  relations: [{ type: 'ownedBy', targetRef: 'group:default/trading-ops' }],
};

/** Evaluates a conditional decision on an entity with the catalog's own rules, as the catalog does. */
function catalogApplies(decision: PolicyDecision, entity: Entity): boolean {
  if (decision.result !== AuthorizeResult.CONDITIONAL) {
    throw new Error(`expected a conditional decision, got ${decision.result}`);
  }
  expect(decision).toMatchObject({
    pluginId: 'catalog',
    resourceType: 'catalog-entity',
  });
  const rules = Object.values(permissionRules);
  const apply = (
    criteria: PermissionCriteria<PermissionCondition<string>>,
  ): boolean => {
    if ('allOf' in criteria) return criteria.allOf.every(apply);
    if ('anyOf' in criteria) return criteria.anyOf.some(apply);
    if ('not' in criteria) return !apply(criteria.not);
    const rule = rules.find(r => r.name === criteria.rule)!;
    return rule.apply(entity, criteria.params as any);
  };
  return apply(decision.conditions);
}

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

  describe.each(
    [gekkoDeploymentCreatePermission, gekkoDeploymentRollbackPermission].map(
      p => [p.name, p] as const,
    ),
  )('%s, a permission on the catalog entity', (_name, permission) => {
    const decision = (ref?: string) =>
      policy.handle({ permission }, ref ? as(ref) : undefined);

    it('is a resource permission of type catalog-entity', () => {
      expect(permission).toMatchObject({
        type: 'resource',
        resourceType: 'catalog-entity',
      });
    });

    it('is allowed outright to the platform team, the default deployers', async () => {
      expect(await decision('user:default/ava')).toEqual({
        result: AuthorizeResult.ALLOW,
      });
    });

    it('is conditional on owning the entity for anyone else, with their ownership claims', async () => {
      const priya = await decision('user:default/priya');
      expect(priya).toMatchObject({
        result: AuthorizeResult.CONDITIONAL,
        conditions: {
          rule: 'IS_ENTITY_OWNER',
          resourceType: 'catalog-entity',
          params: {
            claims: expect.arrayContaining([
              'user:default/priya',
              'group:default/trading-ops',
            ]),
          },
        },
      });
      // The catalog lets the owner through, and nobody else.
      expect(catalogApplies(priya, orderExecution)).toBe(true);
      const sam = await decision('user:default/sam');
      expect(catalogApplies(sam, orderExecution)).toBe(false);
    });

    it('is denied without a user', async () => {
      expect(await decision()).toEqual({ result: AuthorizeResult.DENY });
    });

    it('asked as a basic permission (no entity to own), is left to the deployers', async () => {
      const basic = createPermission({
        name: permission.name,
        attributes: permission.attributes,
      });
      expect(await decide(basic, as('user:default/ava'))).toBe(
        AuthorizeResult.ALLOW,
      );
      expect(await decide(basic, as('user:default/priya'))).toBe(
        AuthorizeResult.DENY,
      );
    });
  });

  it('takes the deployers from config; the owners of an entity may deploy it anyway', async () => {
    const configured = new GekkoPermissionPolicy(
      readGekkoPermissionHolders(
        new ConfigReader({
          gekko: { permissions: { deployers: ['Group:default/Research'] } },
        }),
      ),
      userInfo,
    );
    const decision = (ref: string) =>
      configured.handle(
        { permission: gekkoDeploymentRollbackPermission },
        as(ref),
      );
    expect(await decision('user:default/sam')).toEqual({
      result: AuthorizeResult.ALLOW,
    });
    expect(
      catalogApplies(await decision('user:default/ava'), orderExecution),
    ).toBe(false);
    expect(
      catalogApplies(await decision('user:default/priya'), orderExecution),
    ).toBe(true);
  });

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
