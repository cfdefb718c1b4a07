import { Config } from '@backstage/config';
import type { RateLimit } from '../service/RateLimiter';

/** `gekko.rateLimits`, defaulted: an absent limit is off. */
export interface GekkoRateLimitsConfig {
  /** Predict requests per caller, on the portal route and the data plane. */
  predict?: RateLimit;
  /** POST, PUT, PATCH and DELETE requests per caller on the portal (predict aside). */
  mutations?: RateLimit;
  /** Failed token verifications per client address on the data plane; off unless configured. */
  failedAuthentications?: RateLimit;
  /** Limits of single callers (by actor) instead of the above; null exempts the caller. */
  overrides: Array<{
    caller: string;
    predict?: RateLimit | null;
    mutations?: RateLimit | null;
  }>;
}

/**
 * The defaults: far above what the portal's UI, the tests or the benchmarks send from one caller
 * (the data plane of a 2-core machine serves one caller about 14,000 predicts/s, and a trading
 * engine is one caller), low enough that one runaway caller cannot take the audit trail from the
 * others, nor the gateway of a larger host. Where one host serves many callers, set
 * `gekko.rateLimits.predict` to a share of what its data plane serves.
 */
export const DEFAULT_RATE_LIMITS: Record<'predict' | 'mutations', RateLimit> = {
  predict: { requests: 50_000, per: 'second', burst: 100_000 },
  mutations: { requests: 300, per: 'minute', burst: 100 },
};

/**
 * The failed-authentication limit once `gekko.rateLimits.failedAuthentications` is set. Off by
 * default: an address over it has even valid tokens refused until it refills (unless verified in
 * the last 5 s), so behind a shared address one misconfigured client would lock out the others.
 */
export const DEFAULT_FAILED_AUTHENTICATIONS_LIMIT: RateLimit = {
  requests: 10,
  per: 'second',
  burst: 100,
};

function checkKeys(config: Config, key: string, allowed: string[]) {
  for (const k of config.keys()) {
    if (!allowed.includes(k)) {
      throw new Error(
        `${key}.${k}: unknown key; use ${allowed.slice(0, -1).join(', ')} or ${
          allowed[allowed.length - 1]
        }`,
      );
    }
  }
}

/**
 * One limit block, `{ enabled, requestsPerSecond | requestsPerMinute, burst }`: null when turned off
 * (`enabled: false` or a rate of 0); what it leaves out comes from `fallback`.
 */
function readLimit(
  config: Config | undefined,
  key: string,
  per: RateLimit['per'],
  fallback: RateLimit,
): RateLimit | null {
  if (!config) return fallback;
  const rateKey = per === 'second' ? 'requestsPerSecond' : 'requestsPerMinute';
  checkKeys(config, key, ['enabled', rateKey, 'burst']);
  if (config.getOptionalBoolean('enabled') === false) return null;
  const requests = config.getOptionalNumber(rateKey) ?? fallback.requests;
  if (!Number.isFinite(requests) || requests < 0) {
    throw new Error(
      `${key}.${rateKey}: must be a number of 0 or more (0 turns the limit off), got ${requests}`,
    );
  }
  if (requests === 0) return null;
  const burst = config.getOptionalNumber('burst') ?? fallback.burst;
  if (!Number.isInteger(burst) || burst < 1) {
    throw new Error(
      `${key}.burst: must be a whole number of at least 1, got ${burst}`,
    );
  }
  return { requests, per, burst };
}

/** Reads `gekko.rateLimits` (see config.d.ts); throws naming the key of a bad value. */
export function readRateLimits(
  config: Config | undefined,
): GekkoRateLimitsConfig {
  const key = 'gekko.rateLimits';
  if (config) {
    checkKeys(config, key, [
      'predict',
      'mutations',
      'failedAuthentications',
      'overrides',
    ]);
  }
  const predict = readLimit(
    config?.getOptionalConfig('predict'),
    `${key}.predict`,
    'second',
    DEFAULT_RATE_LIMITS.predict,
  );
  const mutations = readLimit(
    config?.getOptionalConfig('mutations'),
    `${key}.mutations`,
    'minute',
    DEFAULT_RATE_LIMITS.mutations,
  );
  const failedAuthenticationsConfig = config?.getOptionalConfig(
    'failedAuthentications',
  );
  const failedAuthentications =
    failedAuthenticationsConfig &&
    readLimit(
      failedAuthenticationsConfig,
      `${key}.failedAuthentications`,
      'second',
      DEFAULT_FAILED_AUTHENTICATIONS_LIMIT,
    );
  const seen = new Set<string>();
  const overrides = (config?.getOptionalConfigArray('overrides') ?? []).map(
    (entry, i) => {
      const at = `${key}.overrides[${i}]`;
      checkKeys(entry, at, ['caller', 'predict', 'mutations']);
      const caller = entry.getString('caller');
      if (!caller.trim() || seen.has(caller)) {
        throw new Error(
          `${at}.caller: ${
            caller.trim() ? `${caller} has an override already` : 'is empty'
          }; name each caller once, e.g. plugin:scaffolder or user:default/jane`,
        );
      }
      seen.add(caller);
      const override: GekkoRateLimitsConfig['overrides'][number] = { caller };
      // What an override leaves out comes from the general limit, or its default when that is off.
      if (entry.has('predict')) {
        override.predict = readLimit(
          entry.getConfig('predict'),
          `${at}.predict`,
          'second',
          predict ?? DEFAULT_RATE_LIMITS.predict,
        );
      }
      if (entry.has('mutations')) {
        override.mutations = readLimit(
          entry.getConfig('mutations'),
          `${at}.mutations`,
          'minute',
          mutations ?? DEFAULT_RATE_LIMITS.mutations,
        );
      }
      return override;
    },
  );
  return {
    ...(predict ? { predict } : {}),
    ...(mutations ? { mutations } : {}),
    ...(failedAuthentications ? { failedAuthentications } : {}),
    overrides,
  };
}
