import { RateLimit, RateLimiter } from './RateLimiter';

const tenPerSecond: RateLimit = { requests: 10, per: 'second', burst: 3 };

function clock(start = 1_000_000) {
  const c = { now: start, fn: () => c.now };
  return c;
}

function takeAll(limiter: RateLimiter, key: string, times: number) {
  return Array.from({ length: times }, () => limiter.take(key));
}

describe('RateLimiter', () => {
  it('lets a burst through, refuses the next request and says how long to wait', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });

    expect(takeAll(limiter, 'a', 3)).toEqual([0, 0, 0]);
    // One token comes every 100 ms.
    expect(limiter.take('a')).toBe(100);
    time.now += 40;
    expect(limiter.take('a')).toBe(60);
  });

  it('refills at the rate, never above the burst', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });
    takeAll(limiter, 'a', 3);

    time.now += 100;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(100);
    time.now += 60_000;
    expect(takeAll(limiter, 'a', 4)).toEqual([0, 0, 0, 100]);
  });

  it('keeps one bucket per key', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });
    takeAll(limiter, 'a', 3);

    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(takeAll(limiter, 'b', 3)).toEqual([0, 0, 0]);
  });

  it('counts per minute', () => {
    const time = clock();
    const limiter = new RateLimiter({
      limit: { requests: 120, per: 'minute', burst: 1 },
      now: time.fn,
    });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(500);
  });

  it('applies overrides: another limit, or none', () => {
    const time = clock();
    const limiter = new RateLimiter({
      limit: tenPerSecond,
      overrides: new Map([
        ['big', { requests: 10, per: 'second', burst: 100 }],
        ['free', null],
      ]),
      now: time.fn,
    });
    expect(takeAll(limiter, 'big', 101).filter(w => w > 0)).toHaveLength(1);
    expect(takeAll(limiter, 'free', 10_000).every(w => w === 0)).toBe(true);
    expect(limiter.limitOf('free')).toBeUndefined();
    expect(limiter.size).toBe(1);
  });

  it('limits no one without a limit, but those it has an override for', () => {
    const limiter = new RateLimiter({
      overrides: new Map([['x', { requests: 1, per: 'second', burst: 1 }]]),
      now: clock().fn,
    });
    expect(takeAll(limiter, 'y', 100).every(w => w === 0)).toBe(true);
    expect(takeAll(limiter, 'x', 2)).toEqual([0, 1000]);
  });

  it('refills nothing when the clock steps back', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });
    takeAll(limiter, 'a', 3);
    time.now -= 10_000;
    expect(limiter.take('a')).toBe(100);
  });

  it('peeks without taking', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });
    expect(limiter.wait('a')).toBe(0);
    takeAll(limiter, 'a', 3);
    expect(limiter.wait('a')).toBe(100);
    expect(limiter.wait('a')).toBe(100);
    time.now += 100;
    expect(limiter.wait('a')).toBe(0);
    expect(limiter.take('a')).toBe(0);
  });

  it('reports a key at most once per window', () => {
    const time = clock();
    const limiter = new RateLimiter({ limit: tenPerSecond, now: time.fn });
    takeAll(limiter, 'a', 4);
    expect(limiter.report('a', 60_000)).toBe(true);
    expect(limiter.report('a', 60_000)).toBe(false);
    time.now += 59_999;
    expect(limiter.report('a', 60_000)).toBe(false);
    time.now += 1;
    expect(limiter.report('a', 60_000)).toBe(true);
    expect(limiter.report('never-seen', 60_000)).toBe(false);
  });

  it('holds no more keys than its cap, dropping refilled ones first', () => {
    const time = clock();
    const limiter = new RateLimiter({
      limit: { requests: 10, per: 'second', burst: 1 },
      overrides: new Map([['busy', { requests: 1, per: 'minute', burst: 1 }]]),
      maxKeys: 200,
      now: time.fn,
    });
    // A caller that stays throttled while 10,000 others come and go once each, 1 ms apart.
    expect(limiter.take('busy')).toBe(0);
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`drive-by-${i}`);
      expect(limiter.take('busy')).toBeGreaterThan(0);
      expect(limiter.size).toBeLessThanOrEqual(200);
      time.now += 1;
    }
  });

  it('drops the oldest keys when none has refilled, and keeps within its cap', () => {
    const time = clock();
    const limiter = new RateLimiter({
      limit: { requests: 1, per: 'minute', burst: 1 },
      maxKeys: 100,
      now: time.fn,
    });
    for (let i = 0; i < 1000; i++) {
      expect(limiter.take(`k${i}`)).toBe(0);
      expect(limiter.size).toBeLessThanOrEqual(100);
    }
    // The newest are still held (and throttled); the oldest were dropped and start full.
    expect(limiter.take('k999')).toBeGreaterThan(0);
    expect(limiter.take('k0')).toBe(0);
  });
});
