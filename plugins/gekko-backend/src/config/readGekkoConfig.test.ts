import { ConfigReader } from '@backstage/config';
import path from 'node:path';
import { readGekkoConfig } from './readGekkoConfig';
import { DEFAULT_RATE_LIMITS } from './readRateLimits';

const read = (gekko: object) => readGekkoConfig(new ConfigReader({ gekko }));

describe('readGekkoConfig', () => {
  it('gives the embedded defaults when gekko is not configured', () => {
    const config = readGekkoConfig(new ConfigReader({}));

    expect(config).toEqual({
      gpuPools: [],
      gpu: {
        heartbeatIntervalMs: 1000,
        historyRetentionMs: undefined,
        chaos: false,
      },
      inference: {
        modelsDir: path.resolve('models'),
        defaultDeadlineMs: undefined,
        loadTimeoutMs: undefined,
        models: [],
        embedded: { workers: 2, pool: 'cpu-dr', intraOpThreads: undefined },
      },
      nats: undefined,
      deployments: { leaseMs: 15_000 },
      health: { scrapeIntervalMs: 15_000, targets: {} },
      audit: {},
      rateLimits: { ...DEFAULT_RATE_LIMITS, overrides: [] },
    });
  });

  it('reads trading health: the simulator, targets, and drops simulator targets without it', () => {
    expect(
      read({
        health: {
          scrapeInterval: '5s',
          simulator: { port: 9999 },
          targets: { a: 'simulator', b: 'self', c: 'http://x:9/metrics' },
        },
      }).health,
    ).toEqual({
      scrapeIntervalMs: 5_000,
      simulator: { port: 9999, host: '127.0.0.1' },
      targets: {
        a: { type: 'simulator' },
        b: { type: 'self' },
        c: { type: 'url', url: 'http://x:9/metrics' },
      },
    });
    expect(
      read({
        health: { simulator: { enabled: false }, targets: { a: 'simulator' } },
      }).health.targets,
    ).toEqual({});
    expect(() => read({ health: { targets: { a: 'nope' } } })).toThrow(
      'gekko.health.targets.a: "nope" must be self, simulator or an http(s) URL',
    );
  });

  it.each([
    [{ seconds: 2 }, 2000],
    ['2s', 2000],
    ['PT0.5S', 500],
  ])('reads the duration %j as %i ms', (heartbeatInterval, ms) => {
    expect(read({ gpu: { heartbeatInterval } }).gpu.heartbeatIntervalMs).toBe(
      ms,
    );
    expect(
      read({ deployments: { leaseDuration: heartbeatInterval } }).deployments
        .leaseMs,
    ).toBe(ms);
  });

  it('keeps the older keys in their units, and prefers the durations when both are set', () => {
    const legacy = read({
      gpu: { heartbeatIntervalMs: 250, historyRetentionHours: 2 },
      inference: { defaultDeadlineMs: 3000 },
    });
    expect(legacy.gpu.heartbeatIntervalMs).toBe(250);
    expect(legacy.gpu.historyRetentionMs).toBe(2 * 3_600_000);
    expect(legacy.inference.defaultDeadlineMs).toBe(3000);

    const both = read({
      gpu: { heartbeatInterval: { seconds: 5 }, heartbeatIntervalMs: 250 },
      inference: { defaultDeadline: '1m', loadTimeout: { minutes: 2 } },
    });
    expect(both.gpu.heartbeatIntervalMs).toBe(5000);
    expect(both.inference.defaultDeadlineMs).toBe(60_000);
    expect(both.inference.loadTimeoutMs).toBe(120_000);
  });

  it('turns on the data plane and NATS only when configured', () => {
    const config = read({
      inference: { dataPlane: { port: 0 } },
      nats: { servers: 'nats://127.0.0.1:4222', token: 't' },
    });

    expect(config.inference.dataPlane).toEqual({ port: 0, host: '127.0.0.1' });
    expect(config.nats).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      auth: { token: 't' },
    });
  });

  it('names the key of a value of the wrong type', () => {
    expect(() => read({ gpu: { heartbeatInterval: 'soon' } })).toThrow(
      /heartbeatInterval/,
    );
    expect(() => read({ inference: { embedded: { workers: 'two' } } })).toThrow(
      /gekko.inference.embedded.workers/,
    );
    expect(() => read({ inference: { embedded: { mode: 'fibers' } } })).toThrow(
      'gekko.inference.embedded.mode must be auto, threads or in-process (got "fibers")',
    );
  });

  it('leaves the embedded mode to the host unless threads or in-process is asked for', () => {
    const mode = (value?: string) =>
      read({ inference: { embedded: value ? { mode: value } : {} } }).inference
        .embedded.mode;
    expect(mode()).toBeUndefined();
    expect(mode('auto')).toBeUndefined();
    expect(mode('threads')).toBe('threads');
    expect(mode('in-process')).toBe('in-process');
  });

  it('signs audit checkpoints only with a private key, and archives only signed chains', () => {
    expect(read({}).audit).toEqual({});
    const signed = read({
      audit: {
        signing: {
          privateKeyFile: 'keys/audit.pem',
          checkpointInterval: { seconds: 30 },
        },
        archive: { directory: 'archive', olderThan: { days: 90 } },
      },
    }).audit;
    expect(signed).toEqual({
      signing: {
        privateKeyFile: path.resolve('keys/audit.pem'),
        privateKeyPem: undefined,
        generateIfMissing: false,
        publicKey: undefined,
        trustedPublicKeys: [],
        checkpointEvery: 1000,
        checkpointIntervalMs: 30_000,
      },
      archive: {
        directory: path.resolve('archive'),
        olderThanMs: 90 * 86_400_000,
        intervalMs: 3_600_000,
        maxRecordsPerFile: 100_000,
      },
    });
    expect(() =>
      read({ audit: { archive: { directory: 'a', olderThan: '1d' } } }),
    ).toThrow(/gekko.audit.archive needs signed checkpoints/);
    expect(() =>
      read({
        audit: {
          signing: { privateKeyFile: 'k.pem' },
          archive: { directory: 'a' },
        },
      }),
    ).toThrow(/gekko.audit.archive.olderThan is required/);
    expect(() =>
      read({
        audit: { signing: { privateKeyFile: 'k.pem', checkpointEvery: 0 } },
      }),
    ).toThrow(/checkpointEvery must be a whole number of records, at least 1/);
    expect(read({ audit: { witness: { enabled: false } } }).audit).toEqual({
      witness: false,
    });
    expect(() => read({ audit: { signing: { publicKey: 'PEM' } } })).toThrow(
      /has a public key but no private key/,
    );
  });
});
