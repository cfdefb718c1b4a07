import { LoggerService } from '@backstage/backend-plugin-api';
import { RequestHandler } from 'express';
import type { AuditTrail } from '../audit/AuditTrail';
import type { GekkoRateLimitsConfig } from '../config/readRateLimits';
import type { AccessGuard, Caller } from './AccessGuard';
import { TooManyRequestsError } from './http';
import { describeRateLimit, RateLimit, RateLimiter } from './RateLimiter';

/** Which server a request came to, for the metric. */
export type RateLimitedServer = 'portal' | 'data-plane';

/** A limit per caller. */
export type CallerLimitName = 'predict' | 'mutations';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** How often a caller that stays over a limit gets an audit record: once per window. */
const AUDIT_WINDOW_MS = 60_000;

/**
 * The rate limits of `gekko.rateLimits`: predict and mutations per authenticated caller, and failed
 * token verifications per address on the data plane. A request over a limit is refused with a 429
 * whose `Retry-After` and message say when to come back, and is counted; the first refusal of a
 * caller in each minute is also audited (outcome `denied`), and the rest are not, so that a caller
 * cannot flood the trail by being refused.
 */
export class CallerRateLimits {
  private readonly limiters: Partial<Record<CallerLimitName, RateLimiter>> = {};
  private readonly failedAuthentications: RateLimiter | undefined;

  constructor(
    config: GekkoRateLimitsConfig,
    private readonly options: {
      audit: Pick<AuditTrail, 'append'>;
      logger: LoggerService;
      /** Counts each refusal (`gekko_rate_limited_total`). */
      countRefusal?(labels: { limit: string; server: string }): void;
      /** The clock, in ms; default `Date.now`. */
      now?: () => number;
    },
  ) {
    const { now } = options;
    for (const name of ['predict', 'mutations'] as const) {
      const overrides = new Map<string, RateLimit | null>();
      for (const o of config.overrides) {
        if (o[name] !== undefined) overrides.set(o.caller, o[name]!);
      }
      if (config[name] || [...overrides.values()].some(Boolean)) {
        this.limiters[name] = new RateLimiter({
          limit: config[name],
          overrides,
          now,
        });
      }
    }
    if (config.failedAuthentications) {
      this.failedAuthentications = new RateLimiter({
        limit: config.failedAuthentications,
        now,
      });
    }
  }

  /**
   * Lets a request of `caller` through `name`'s limit, or throws a 429 (after auditing the first
   * refusal of the caller in the window).
   */
  async admit(
    name: CallerLimitName,
    caller: Caller,
    request: { method: string; path: string; server: RateLimitedServer },
  ): Promise<void> {
    const limiter = this.limiters[name];
    if (!limiter) return;
    const waitMs = limiter.take(caller.actor);
    if (waitMs === 0) return;
    await this.refuse(name, caller, request, waitMs);
  }

  /**
   * The hot path of {@link CallerRateLimits.admit}, with no promise: takes a token of `actor` and
   * says true, or takes none and says false, and the caller then goes through `admit`, which refuses
   * the request (or admits it, if a token came back in between).
   */
  tryAdmit(name: CallerLimitName, actor: string): boolean {
    const limiter = this.limiters[name];
    return !limiter || limiter.take(actor) === 0;
  }

  private async refuse(
    name: CallerLimitName,
    caller: Caller,
    request: { method: string; path: string; server: RateLimitedServer },
    waitMs: number,
  ): Promise<never> {
    const limiter = this.limiters[name]!;
    const limit = limiter.limitOf(caller.actor)!;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    this.options.countRefusal?.({ limit: name, server: request.server });
    if (limiter.report(caller.actor, AUDIT_WINDOW_MS)) {
      await this.options.audit
        .append(
          {
            actor: caller.actor,
            action: 'rate-limit.engage',
            target: null,
            outcome: 'denied',
            requestId: caller.requestId,
            details: {
              reason: 'rate limit engaged',
              limit: name,
              rate: describeRateLimit(limit),
              server: request.server,
              method: request.method,
              path: request.path,
            },
          },
          caller,
        )
        .catch(error =>
          this.options.logger.warn(
            `Could not audit the rate limit of ${caller.actor}: ${error}`,
          ),
        );
    }
    throw new TooManyRequestsError(
      `Too many ${name === 'predict' ? 'predict requests' : 'changes'} from ${
        caller.actor
      }: the limit is ${describeRateLimit(
        limit,
      )} per caller. Slow down to ${limit.requests.toLocaleString(
        'en-US',
      )} per ${limit.per}; retry after ${retryAfter} s`,
      retryAfter,
    );
  }

  /**
   * Middleware that holds every POST, PUT, PATCH and DELETE to the mutations limit of its caller,
   * before its body is read. Mount it behind the routes that have limits of their own (predict).
   */
  limitMutations(guard: AccessGuard): RequestHandler {
    return async (req, _res, next) => {
      if (this.limiters.mutations && MUTATING.has(req.method)) {
        await this.admit('mutations', await guard.caller(req), {
          method: req.method,
          path: req.originalUrl.split('?')[0],
          server: 'portal',
        });
      }
      next();
    };
  }

  /**
   * Throws a 429 when `address` has failed to authenticate more often than its limit allows: its
   * tokens are not verified until it refills.
   */
  checkAddress(address: string, server: RateLimitedServer): void {
    const waitMs = this.failedAuthentications?.wait(address) ?? 0;
    if (waitMs === 0) return;
    this.options.countRefusal?.({
      limit: 'failedAuthentications',
      server,
    });
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    throw new TooManyRequestsError(
      `Too many failed authentications from ${address}: the limit is ${describeRateLimit(
        this.failedAuthentications!.limitOf(address)!,
      )}. Check the token you send; retry after ${retryAfter} s`,
      retryAfter,
    );
  }

  /** Counts a failed authentication of `address` against its limit. */
  authenticationFailed(address: string): void {
    this.failedAuthentications?.take(address);
  }
}
