import { ConfigReader } from '@backstage/config';
import {
  DEFAULT_FAILED_AUTHENTICATIONS_LIMIT,
  DEFAULT_RATE_LIMITS,
  readRateLimits,
} from './readRateLimits';

const read = (rateLimits: object) =>
  readRateLimits(
    new ConfigReader({ gekko: { rateLimits } }, 'app-config.yaml').getConfig(
      'gekko.rateLimits',
    ),
  );

describe('readRateLimits', () => {
  it('gives the defaults when gekko.rateLimits is not configured', () => {
    expect(readRateLimits(undefined)).toEqual({
      ...DEFAULT_RATE_LIMITS,
      overrides: [],
    });
    expect(DEFAULT_RATE_LIMITS).toEqual({
      predict: { requests: 50_000, per: 'second', burst: 100_000 },
      mutations: { requests: 300, per: 'minute', burst: 100 },
    });
  });

  it('limits failed authentications only when configured', () => {
    expect(read({}).failedAuthentications).toBeUndefined();
    expect(read({ failedAuthentications: {} }).failedAuthentications).toEqual(
      DEFAULT_FAILED_AUTHENTICATIONS_LIMIT,
    );
    expect(
      read({ failedAuthentications: { burst: 5 } }).failedAuthentications,
    ).toEqual({ requests: 10, per: 'second', burst: 5 });
  });

  it('reads limits, turns them off with enabled: false or a rate of 0, and fills in what a block leaves out', () => {
    expect(
      read({
        predict: { requestsPerSecond: 500 },
        mutations: { requestsPerMinute: 0 },
        failedAuthentications: { enabled: false },
      }),
    ).toEqual({
      predict: { requests: 500, per: 'second', burst: 100_000 },
      overrides: [],
    });
  });

  it('reads overrides per caller, from the general limit', () => {
    expect(
      read({
        predict: { requestsPerSecond: 500, burst: 50 },
        mutations: { enabled: false },
        overrides: [
          {
            caller: 'plugin:scaffolder',
            predict: { burst: 5 },
            mutations: { requestsPerMinute: 600 },
          },
          { caller: 'external:trading-engine', predict: { enabled: false } },
        ],
      }).overrides,
    ).toEqual([
      {
        caller: 'plugin:scaffolder',
        predict: { requests: 500, per: 'second', burst: 5 },
        mutations: { requests: 600, per: 'minute', burst: 100 },
      },
      { caller: 'external:trading-engine', predict: null },
    ]);
  });

  it.each([
    [
      { predict: { requestsPerSecond: -1 } },
      'gekko.rateLimits.predict.requestsPerSecond: must be a number of 0 or more (0 turns the limit off), got -1',
    ],
    [
      { mutations: { burst: 0.5 } },
      'gekko.rateLimits.mutations.burst: must be a whole number of at least 1, got 0.5',
    ],
    [
      { mutations: { requestsPerSecond: 5 } },
      'gekko.rateLimits.mutations.requestsPerSecond: unknown key; use enabled, requestsPerMinute or burst',
    ],
    [
      { predicts: {} },
      'gekko.rateLimits.predicts: unknown key; use predict, mutations, failedAuthentications or overrides',
    ],
    [
      { overrides: [{ caller: 'a' }, { caller: 'a' }] },
      'gekko.rateLimits.overrides[1].caller: a has an override already; name each caller once, e.g. plugin:scaffolder or user:default/jane',
    ],
    [
      { overrides: [{ caller: 'a', predict: { burst: 0 } }] },
      'gekko.rateLimits.overrides[0].predict.burst: must be a whole number of at least 1, got 0',
    ],
    [
      { predict: { burst: 'many' } },
      "Unable to convert config value for key 'gekko.rateLimits.predict.burst' in 'app-config.yaml' to a number",
    ],
  ])('refuses %j', (rateLimits, message) => {
    expect(() => read(rateLimits)).toThrow(message);
  });
});
