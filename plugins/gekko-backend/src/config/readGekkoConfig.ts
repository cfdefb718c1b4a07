import {
  Config,
  ConfigReader,
  readDurationFromConfig,
} from '@backstage/config';
import { durationToMilliseconds } from '@backstage/types';
import type { NatsControlPlaneOptions } from '@gekko/worker';
import path from 'node:path';
import type { AuditArchiveConfig } from '../audit/AuditArchive';
import type { AuditSigningConfig } from '../audit/signing';
import type { EmbeddedWorkerMode } from '../gpu/EmbeddedWorkers';
import { GekkoRateLimitsConfig, readRateLimits } from './readRateLimits';

/** Where remote workers join: `gekko.nats`, as the NATS control plane takes it. */
export type GekkoNatsConfig = Omit<NatsControlPlaneOptions, 'events'>;

/**
 * The gekko backend's configuration, read and defaulted once (`config.d.ts` documents each key).
 * Lists that the services validate themselves (pools, models) are passed on as they are, so their
 * errors name the config key of the bad entry.
 */
export interface GekkoConfig {
  /** `gekko.gpuPools`: seeded on start when missing. */
  gpuPools: unknown[];
  gpu: {
    heartbeatIntervalMs: number;
    historyRetentionMs?: number;
    /** `gekko.gpu.chaos.enabled`: embedded workers may be crashed through the API. */
    chaos: boolean;
  };
  inference: {
    /** Absolute path of the models folder. */
    modelsDir: string;
    defaultDeadlineMs?: number;
    loadTimeoutMs?: number;
    /** `gekko.inference.models`: registered (and deployed) on start when missing. */
    models: unknown[];
    embedded: {
      workers: number;
      pool: string;
      /** Unset for `auto`: {@link defaultEmbeddedMode} picks by the host's cores. */
      mode?: EmbeddedWorkerMode;
      intraOpThreads?: number;
    };
    /** Set when the data plane is on. */
    dataPlane?: { host: string; port: number };
    /** `gekko.inference.replayTraffic`: set when holdout windows are replayed as live traffic. */
    replayTraffic?: { model: string; ratePerSecond: number; holdout?: string };
  };
  /** Set when remote workers may join over NATS. */
  nats?: GekkoNatsConfig;
  deployments: {
    /** `gekko.deployments.leaseDuration`: how long a replica holds a deployment without renewing. */
    leaseMs: number;
  };
  /** `gekko.health`: how trading services' health is read and judged. */
  health: GekkoHealthConfig;
  /** `gekko.audit`: signed checkpoints and archival of the audit trail. */
  audit: GekkoAuditConfig;
  /** `gekko.rateLimits`: per-caller limits of predict and of mutations. */
  rateLimits: GekkoRateLimitsConfig;
}

/** Where one trading service's metrics come from, overriding its `gekko.io/metrics-url`. */
export type HealthTarget =
  | { type: 'self' }
  | { type: 'simulator' }
  | { type: 'url'; url: string };

/** `gekko.health`. */
export interface GekkoHealthConfig {
  /** How often each service is scraped and its alerts evaluated. */
  scrapeIntervalMs: number;
  /** Set when the backend runs the trading-service simulator in-process (embedded default). */
  simulator?: { port: number; host: string };
  /** Per Component name: where its metrics come from instead of its annotation. */
  targets: Record<string, HealthTarget>;
  /** `gekko.prometheus.baseUrl`: when set, SLOs are judged from Prometheus's HTTP API. */
  prometheusBaseUrl?: string;
}

/** `gekko.audit`. */
export interface GekkoAuditConfig {
  /** Set when checkpoints are signed: a key is configured (or generated, on the embedded default). */
  signing?: AuditSigningConfig;
  /** Set when old records move to archive files. */
  archive?: AuditArchiveConfig;
  /** `gekko.audit.witness.enabled`: false keeps checkpoints off the NATS witness stream. */
  witness?: boolean;
}

/** Environment variable that may hold the PEM private key, instead of a file. */
export const AUDIT_SIGNING_KEY_ENV = 'GEKKO_AUDIT_SIGNING_KEY';

function readAudit(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): GekkoAuditConfig {
  const audit = config.getOptionalConfig('audit');
  const signing = audit?.getOptionalConfig('signing');
  const archive = audit?.getOptionalConfig('archive');
  const keyPem = env[AUDIT_SIGNING_KEY_ENV];
  const keyFile = signing?.getOptionalString('privateKeyFile');
  const result: GekkoAuditConfig = {};
  const witness = audit?.getOptionalBoolean('witness.enabled');
  if (witness !== undefined) result.witness = witness;
  if (keyPem || keyFile) {
    const every = signing?.getOptionalNumber('checkpointEvery') ?? 1000;
    if (!Number.isInteger(every) || every < 1) {
      throw new Error(
        `gekko.audit.signing.checkpointEvery must be a whole number of records, at least 1 (got ${every})`,
      );
    }
    result.signing = {
      privateKeyPem: keyPem || undefined,
      privateKeyFile: keyFile && path.resolve(keyFile),
      generateIfMissing:
        signing?.getOptionalBoolean('generateIfMissing') ?? false,
      publicKey: signing?.getOptionalString('publicKey'),
      trustedPublicKeys:
        signing?.getOptionalStringArray('trustedPublicKeys') ?? [],
      checkpointEvery: every,
      checkpointIntervalMs:
        (signing && readMs(signing, 'checkpointInterval')) ?? 60_000,
    };
  } else if (signing?.getOptionalString('publicKey')) {
    throw new Error(
      `gekko.audit.signing has a public key but no private key: set gekko.audit.signing.privateKeyFile or ${AUDIT_SIGNING_KEY_ENV}`,
    );
  }
  const directory = archive?.getOptionalString('directory');
  if (archive && directory) {
    const olderThanMs = readMs(archive, 'olderThan');
    if (olderThanMs === undefined) {
      throw new Error(
        'gekko.audit.archive.olderThan is required: how old a record must be to move to the archive, e.g. { days: 90 }',
      );
    }
    if (!result.signing) {
      throw new Error(
        `gekko.audit.archive needs signed checkpoints (archived segments end at one): set gekko.audit.signing.privateKeyFile or ${AUDIT_SIGNING_KEY_ENV}`,
      );
    }
    const maxRecordsPerFile =
      archive.getOptionalNumber('maxRecordsPerFile') ?? 100_000;
    if (!Number.isInteger(maxRecordsPerFile) || maxRecordsPerFile < 1) {
      throw new Error(
        `gekko.audit.archive.maxRecordsPerFile must be a whole number, at least 1 (got ${maxRecordsPerFile})`,
      );
    }
    result.archive = {
      directory: path.resolve(directory),
      olderThanMs,
      intervalMs: readMs(archive, 'interval') ?? 3_600_000,
      maxRecordsPerFile,
    };
  }
  return result;
}

function readHealth(config: Config): GekkoHealthConfig {
  const health = config.getOptionalConfig('health') ?? new ConfigReader({});
  const simulator = health.getOptionalConfig('simulator');
  const targets: Record<string, HealthTarget> = {};
  const targetsConfig = health.getOptionalConfig('targets');
  for (const name of targetsConfig?.keys() ?? []) {
    const value = targetsConfig!.getString(name);
    if (value === 'self' || value === 'simulator') {
      targets[name] = { type: value };
    } else if (/^https?:\/\//.test(value)) {
      targets[name] = { type: 'url', url: value };
    } else {
      throw new Error(
        `gekko.health.targets.${name}: "${value}" must be self, simulator or an http(s) URL`,
      );
    }
  }
  const simulated =
    simulator && simulator.getOptionalBoolean('enabled') !== false;
  if (!simulated) {
    // Without the simulator, those services are scraped at their gekko.io/metrics-url.
    for (const [name, target] of Object.entries(targets)) {
      if (target.type === 'simulator') delete targets[name];
    }
  }
  return {
    scrapeIntervalMs: readMs(health, 'scrapeInterval') ?? 15_000,
    ...(simulated
      ? {
          simulator: {
            port: simulator!.getOptionalNumber('port') ?? 9464,
            host: simulator!.getOptionalString('host') ?? '127.0.0.1',
          },
        }
      : {}),
    targets,
    prometheusBaseUrl: config.getOptionalString('prometheus.baseUrl'),
  };
}

/**
 * A duration in milliseconds: `key` as a Backstage duration (`{ seconds: 5 }`, `'5s'`, `'PT5S'`),
 * or else the older `legacyKey` in the given unit.
 */
function readMs(
  config: Config,
  key: string,
  legacy?: { key: string; unitMs: number },
): number | undefined {
  if (config.has(key)) {
    return durationToMilliseconds(readDurationFromConfig(config, { key }));
  }
  if (legacy && config.has(legacy.key)) {
    return config.getNumber(legacy.key) * legacy.unitMs;
  }
  return undefined;
}

function readNats(config: Config): GekkoNatsConfig | undefined {
  const nats = config.getOptionalConfig('nats');
  if (!nats) return undefined;
  const servers = nats.getOptional('servers');
  return {
    servers: (Array.isArray(servers) ? servers : [servers]).map(String),
    subjectPrefix: nats.getOptionalString('subjectPrefix'),
    auth: {
      token: nats.getOptionalString('token'),
      user: nats.getOptionalString('user'),
      pass: nats.getOptionalString('password'),
      credsFile: nats.getOptionalString('credsFile'),
      nkeySeedFile: nats.getOptionalString('nkeySeedFile'),
    },
    tls: {
      caFile: nats.getOptionalString('tls.caFile'),
      certFile: nats.getOptionalString('tls.certFile'),
      keyFile: nats.getOptionalString('tls.keyFile'),
    },
    name: 'gekko backend',
  };
}

/** Reads `gekko.*` from the root config; throws naming the key of a value of the wrong type. */
export function readGekkoConfig(root: Config): GekkoConfig {
  const config = root.getOptionalConfig('gekko') ?? new ConfigReader({});
  const gpu = config.getOptionalConfig('gpu');
  const inference = config.getOptionalConfig('inference');
  const dataPlanePort = inference?.getOptionalNumber('dataPlane.port');
  const replay = inference?.getOptionalConfig('replayTraffic');
  return {
    gpuPools: (config.getOptional('gpuPools') as unknown[] | undefined) ?? [],
    gpu: {
      heartbeatIntervalMs:
        (gpu &&
          readMs(gpu, 'heartbeatInterval', {
            key: 'heartbeatIntervalMs',
            unitMs: 1,
          })) ??
        1000,
      historyRetentionMs:
        gpu &&
        readMs(gpu, 'historyRetention', {
          key: 'historyRetentionHours',
          unitMs: 3_600_000,
        }),
      chaos: gpu?.getOptionalBoolean('chaos.enabled') ?? false,
    },
    inference: {
      modelsDir: path.resolve(
        inference?.getOptionalString('modelsDir') ?? 'models',
      ),
      defaultDeadlineMs:
        inference &&
        readMs(inference, 'defaultDeadline', {
          key: 'defaultDeadlineMs',
          unitMs: 1,
        }),
      loadTimeoutMs: inference && readMs(inference, 'loadTimeout'),
      models: (inference?.getOptional('models') as unknown[] | undefined) ?? [],
      embedded: {
        workers: inference?.getOptionalNumber('embedded.workers') ?? 2,
        pool: inference?.getOptionalString('embedded.pool') ?? 'cpu-dr',
        mode: readEmbeddedMode(inference),
        intraOpThreads: inference?.getOptionalNumber('embedded.intraOpThreads'),
      },
      ...(dataPlanePort !== undefined
        ? {
            dataPlane: {
              port: dataPlanePort,
              host:
                inference?.getOptionalString('dataPlane.host') ?? '127.0.0.1',
            },
          }
        : {}),
      ...(replay
        ? {
            replayTraffic: {
              model: replay.getString('model'),
              ratePerSecond: replay.getNumber('ratePerSecond'),
              holdout: replay.getOptionalString('holdout'),
            },
          }
        : {}),
    },
    nats: readNats(config),
    deployments: {
      leaseMs:
        readMs(
          config.getOptionalConfig('deployments') ?? new ConfigReader({}),
          'leaseDuration',
        ) ?? 15_000,
    },
    health: readHealth(config),
    audit: readAudit(config),
    rateLimits: readRateLimits(config.getOptionalConfig('rateLimits')),
  };
}

/** `gekko.inference.embedded.mode`: `auto` (the default) leaves the choice to the host's cores. */
function readEmbeddedMode(
  inference: Config | undefined,
): EmbeddedWorkerMode | undefined {
  const mode = inference?.getOptionalString('embedded.mode') ?? 'auto';
  if (mode === 'auto') return undefined;
  if (mode !== 'threads' && mode !== 'in-process') {
    throw new Error(
      `gekko.inference.embedded.mode must be auto, threads or in-process (got ${JSON.stringify(
        mode,
      )})`,
    );
  }
  return mode;
}
