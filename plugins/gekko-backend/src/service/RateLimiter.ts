/** A request rate: `requests` per `per`, with up to `burst` at once. */
export interface RateLimit {
  requests: number;
  per: 'second' | 'minute';
  /** How many requests may come at once after a quiet spell (the bucket's size). */
  burst: number;
}

/** A rate limit in words, e.g. `120 per minute (bursts of 30)`. */
export function describeRateLimit(limit: RateLimit): string {
  return `${limit.requests.toLocaleString('en-US')} per ${
    limit.per
  } (bursts of ${limit.burst.toLocaleString('en-US')})`;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (clock ms). */
  at: number;
  burst: number;
  tokensPerMs: number;
  /** When a throttled request of this key was last reported, or -Infinity. */
  reportedAt: number;
}

/** Options of a {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** The limit of every key without an override; undefined: only overridden keys are limited. */
  limit?: RateLimit;
  /** Limits of single keys; `null` exempts a key. */
  overrides?: ReadonlyMap<string, RateLimit | null>;
  /**
   * Most keys held at once (default 10,000), so that callers cycling through ids cannot grow memory
   * without bound. Past it, idle keys are dropped, then the oldest.
   */
  maxKeys?: number;
  /** The clock, in ms; default `Date.now`. */
  now?: () => number;
}

/**
 * Token buckets per key (a caller, an address): each holds up to `burst` tokens, refills at the
 * limit's rate, and a request takes one. A check is O(1) and sets no timer; the buckets are brought
 * up to date when next used. A bucket that has refilled is the same as none, so idle ones are
 * dropped when the key cap is reached, in one sweep that frees a tenth of the cap at least.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(private readonly options: RateLimiterOptions) {
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? (() => Date.now());
  }

  /** How many keys hold a bucket. */
  get size(): number {
    return this.buckets.size;
  }

  /** The limit that applies to `key`; undefined when the key is exempt. */
  limitOf(key: string): RateLimit | undefined {
    const override = this.options.overrides?.get(key);
    if (override === null) return undefined;
    return override ?? this.options.limit;
  }

  /**
   * Takes a token for one request of `key`: 0 when the request may go ahead, else how many ms
   * until the next token (the request is refused and takes none).
   */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const limit = this.limitOf(key);
      if (!limit) return 0;
      bucket = this.add(key, limit, now);
    } else {
      this.refill(bucket, now);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.tokensPerMs));
  }

  /** Like {@link RateLimiter.take} but takes nothing: how many ms until `key` may send again. */
  wait(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    this.refill(bucket, this.now());
    if (bucket.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.tokensPerMs));
  }

  /**
   * True at most once per `windowMs` for a key, for reporting a throttled key without letting it
   * flood the report (the audit trail).
   */
  report(key: string, windowMs: number): boolean {
    const bucket = this.buckets.get(key);
    if (!bucket) return false;
    const now = this.now();
    if (now - bucket.reportedAt < windowMs) return false;
    bucket.reportedAt = now;
    return true;
  }

  private refill(bucket: Bucket, now: number) {
    // A clock that steps back (Date.now after an NTP correction) refills nothing.
    const elapsed = now - bucket.at;
    if (elapsed <= 0) return;
    bucket.tokens = Math.min(
      bucket.burst,
      bucket.tokens + elapsed * bucket.tokensPerMs,
    );
    bucket.at = now;
  }

  private add(key: string, limit: RateLimit, now: number): Bucket {
    if (this.buckets.size >= this.maxKeys) this.sweep(now);
    const bucket: Bucket = {
      tokens: limit.burst,
      at: now,
      burst: limit.burst,
      tokensPerMs: limit.requests / (limit.per === 'second' ? 1000 : 60_000),
      reportedAt: -Infinity,
    };
    this.buckets.set(key, bucket);
    return bucket;
  }

  /**
   * Drops refilled buckets, then, if fewer than a tenth of the cap came free, the oldest ones (a
   * dropped bucket starts full again). The next sweep is a tenth of the cap of new keys away, so
   * the cost per new key stays constant.
   */
  private sweep(now: number) {
    for (const [key, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (bucket.tokens >= bucket.burst) this.buckets.delete(key);
    }
    const keep = Math.floor(this.maxKeys * 0.9);
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= keep) break;
      this.buckets.delete(key);
    }
  }
}
