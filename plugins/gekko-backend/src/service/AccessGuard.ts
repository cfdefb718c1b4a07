import {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizePermissionRequest,
  AuthorizeResult,
  BasicPermission,
  isResourcePermission,
  Permission,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import type { Request } from 'express';
import type { AuditContext } from '../audit/AuditContext';
import { AuditTrail } from '../audit/AuditTrail';
import { requestIdOf } from './http';

/** What a caller tries, for the 403 message and the audit record of a denial. */
export interface AuthorizeAttempt {
  action: string;
  target?: string | null;
  what: string;
  /**
   * Reuse an ALLOW for the same caller and permission for a few seconds. For the inference hot
   * path only, where asking the permission backend per request would cost more than the
   * inference: a revoked grant then takes effect after at most `decisionCacheMs`. Denials are
   * never cached, and each one is audited.
   */
  cacheable?: boolean;
}

/**
 * An attempt on one resource, for a resource permission: `resourceRef` names the resource, and the
 * decision is the policy's for that resource (for Gekko's deployment permissions, the entity ref,
 * whose owners the policy lets through by a condition the catalog evaluates). When `target` is not
 * given, the audit record of a denial names the resource.
 */
export interface ResourceAuthorizeAttempt extends AuthorizeAttempt {
  resourceRef: string;
}

/**
 * Who made a request: their credentials, and the {@link AuditContext} that routers hand to services
 * (a `Caller` is one), so that services never see the HTTP request.
 */
export interface Caller extends AuditContext {
  credentials: BackstageCredentials;
  requestId: string;
}

/** The audit trail's name for a principal. */
export function actorOf(credentials: BackstageCredentials): string {
  const p = credentials.principal as {
    type: string;
    userEntityRef?: string;
    subject?: string;
  };
  if (p.type === 'user') return p.userEntityRef!;
  if (p.type === 'service') return p.subject!;
  return 'anonymous';
}

/**
 * Authenticates requests and checks permissions; a denied request gets a 403 and an audit record
 * with outcome `denied`.
 */
export class AccessGuard {
  /** ALLOW decisions of hot routes by `actor|permission`, until their expiry (epoch ms). */
  private readonly allowed = new Map<string, number>();

  constructor(
    private readonly httpAuth: HttpAuthService,
    private readonly permissions: PermissionsService,
    private readonly audit: AuditTrail,
    private readonly options: {
      /** How long an ALLOW of a `cacheable` check is reused; defaults to 5 s, 0 turns it off. */
      decisionCacheMs?: number;
    } = {},
  ) {}

  /** The authenticated caller (a user or another service). */
  async caller(req: Request): Promise<Caller> {
    const credentials = await this.httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    return {
      credentials,
      actor: actorOf(credentials),
      requestId: requestIdOf(req),
      ...(req.ip ? { address: req.ip } : {}),
    };
  }

  /**
   * The caller, once `permission` allows them to do `action` on `target`; otherwise records the
   * denial and throws a 403 that names the missing permission. A resource permission is checked on
   * `attempt.resourceRef`, and its denial names the resource.
   */
  async authorize(
    req: Request,
    permission: BasicPermission,
    attempt: AuthorizeAttempt,
  ): Promise<Caller>;
  async authorize(
    req: Request,
    permission: ResourcePermission,
    attempt: ResourceAuthorizeAttempt,
  ): Promise<Caller>;
  async authorize(
    req: Request,
    permission: Permission,
    attempt: AuthorizeAttempt | ResourceAuthorizeAttempt,
  ): Promise<Caller> {
    const caller = await this.caller(req);
    return this.check(caller, permission, attempt, {
      method: req.method,
      path: req.originalUrl.split('?')[0],
    });
  }

  /** {@link AccessGuard.authorize} for a caller authenticated elsewhere (the inference data plane). */
  async authorizeCaller(
    caller: Caller,
    permission: BasicPermission,
    attempt: AuthorizeAttempt,
    request: { method: string; path: string },
  ): Promise<Caller>;
  async authorizeCaller(
    caller: Caller,
    permission: ResourcePermission,
    attempt: ResourceAuthorizeAttempt,
    request: { method: string; path: string },
  ): Promise<Caller>;
  async authorizeCaller(
    caller: Caller,
    permission: Permission,
    attempt: AuthorizeAttempt | ResourceAuthorizeAttempt,
    request: { method: string; path: string },
  ): Promise<Caller> {
    return this.check(caller, permission, attempt, request);
  }

  /**
   * Whether an ALLOW of `permission` for `actor`, checked `cacheable`, is still cached: the hot path's
   * check, with no promise. When it is not, {@link AccessGuard.authorizeCaller} asks the permission
   * framework (and audits a denial).
   */
  allowedNow(actor: string, permission: BasicPermission): boolean {
    if ((this.options.decisionCacheMs ?? 5000) <= 0) return false;
    const until = this.allowed.get(`${actor}|${permission.name}|`);
    return until !== undefined && until > Date.now();
  }

  private async check(
    caller: Caller,
    permission: Permission,
    attempt: AuthorizeAttempt & { resourceRef?: string },
    request: { method: string; path: string },
  ): Promise<Caller> {
    const { resourceRef } = attempt;
    let query: AuthorizePermissionRequest;
    if (isResourcePermission(permission)) {
      if (!resourceRef) {
        throw new Error(
          `${permission.name} is a permission on a ${permission.resourceType}: check it with a resourceRef`,
        );
      }
      query = { permission, resourceRef };
    } else {
      query = { permission };
    }
    const ttl = this.options.decisionCacheMs ?? 5000;
    const key = `${caller.actor}|${permission.name}|${resourceRef ?? ''}`;
    if (attempt.cacheable && ttl > 0) {
      const until = this.allowed.get(key);
      if (until !== undefined && until > Date.now()) return caller;
    }
    const [decision] = await this.permissions.authorize([query], {
      credentials: caller.credentials,
    });
    if (decision.result === AuthorizeResult.ALLOW) {
      if (attempt.cacheable && ttl > 0) {
        if (this.allowed.size > 10_000) this.allowed.clear();
        this.allowed.set(key, Date.now() + ttl);
      }
      return caller;
    }
    this.allowed.delete(key);
    await this.audit.append(
      {
        actor: caller.actor,
        action: attempt.action,
        target: attempt.target ?? resourceRef ?? null,
        outcome: 'denied',
        requestId: caller.requestId,
        details: {
          permission: permission.name,
          ...(resourceRef ? { resourceRef } : {}),
          method: request.method,
          path: request.path,
        },
      },
      caller,
    );
    throw new NotAllowedError(
      `You are not allowed to ${attempt.what}: it needs the ${
        permission.name
      } permission${
        resourceRef ? ` on ${resourceRef}` : ''
      }. Ask a portal admin to grant it.`,
    );
  }
}
