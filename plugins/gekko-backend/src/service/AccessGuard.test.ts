import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { gekkoInferenceInvokePermission } from '@gekko/plugin-gekko-common';
import type { AuditTrail } from '../audit/AuditTrail';
import { AccessGuard, Caller } from './AccessGuard';

/** A guard whose policy the test switches, with the denials it audited. */
function guardWith(decisionCacheMs?: number) {
  const policy = { result: AuthorizeResult.ALLOW as AuthorizeResult };
  const audited: unknown[] = [];
  const guard = new AccessGuard(
    mockServices.httpAuth(),
    {
      authorize: async (queries: unknown[]) =>
        queries.map(() => ({ result: policy.result })),
      authorizeConditional: async () => {
        throw new Error('not used');
      },
    } as any,
    {
      append: async (entry: unknown) => {
        audited.push(entry);
        return entry;
      },
    } as unknown as AuditTrail,
    decisionCacheMs === undefined ? {} : { decisionCacheMs },
  );
  return { guard, policy, audited };
}

const caller: Caller = {
  credentials: mockCredentials.user('user:default/ava'),
  actor: 'user:default/ava',
  requestId: 'r1',
};

const invoke = (guard: AccessGuard, cacheable = true) =>
  guard.authorizeCaller(
    caller,
    gekkoInferenceInvokePermission,
    { action: 'inference.invoke', what: 'run models', cacheable },
    { method: 'POST', path: '/predict' },
  );

describe('AccessGuard.allowedNow', () => {
  afterEach(() => jest.restoreAllMocks());

  it('holds an ALLOW of a cacheable check for decisionCacheMs, and nothing else', async () => {
    const clock = { now: Date.now() };
    jest.spyOn(Date, 'now').mockImplementation(() => clock.now);
    const { guard, policy, audited } = guardWith();
    const allowed = () =>
      guard.allowedNow('user:default/ava', gekkoInferenceInvokePermission);

    expect(allowed()).toBe(false);
    await invoke(guard, false);
    // A check that is not cacheable caches nothing.
    expect(allowed()).toBe(false);
    await invoke(guard);
    expect(allowed()).toBe(true);
    expect(
      guard.allowedNow('user:default/ben', gekkoInferenceInvokePermission),
    ).toBe(false);
    clock.now += 4999;
    expect(allowed()).toBe(true);
    clock.now += 2;
    expect(allowed()).toBe(false);

    // A denial is never cached, is audited, and drops the ALLOW.
    await invoke(guard);
    policy.result = AuthorizeResult.DENY;
    clock.now += 5001;
    await expect(invoke(guard)).rejects.toThrow(/gekko\.inference\.invoke/);
    expect(allowed()).toBe(false);
    expect(audited).toHaveLength(1);
  });

  it('caches nothing when decisionCacheMs is 0', async () => {
    const { guard } = guardWith(0);
    await invoke(guard);
    expect(
      guard.allowedNow('user:default/ava', gekkoInferenceInvokePermission),
    ).toBe(false);
  });
});
