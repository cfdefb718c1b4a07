import crypto from 'node:crypto';
import os from 'node:os';

/** The subject prefix used when none is configured. */
export const DEFAULT_SUBJECT_PREFIX = 'gekko';

/** Header names of the binary inference messages. */
export const NATS_HEADERS = {
  model: 'gekko-model',
  version: 'gekko-version',
  rows: 'gekko-rows',
  deadline: 'gekko-deadline',
  meta: 'gekko-meta',
  error: 'gekko-error',
  /** A message of several inference requests: how many (2 or more). */
  batch: 'gekko-batch',
  /** JSON, one entry per request of a batch message, in order: what each request is, or got. */
  items: 'gekko-items',
} as const;

/** What a NATS worker that takes several inference requests in one message says it accepts. */
export const INFER_BATCH = 'infer-batch';

/**
 * The version of the subject layout. Version 2 put the pool in every worker subject, so that the
 * NATS server's permissions can confine each worker's identity to its own pool and id (see
 * `deploy/nats/`); version 1 workers (`<prefix>.heartbeat.<id>`) are told to upgrade.
 */
export const NATS_SUBJECT_LAYOUT_VERSION = 2;

/** The NATS subjects of one deployment, all under `prefix`. */
export interface NatsSubjects {
  /** JSON `WorkerCommand` → JSON `{ ok, value }` or `{ ok, error }`. */
  rpc(pool: string, workerId: string): string;
  /** Binary inference request → binary reply (see the package README). */
  infer(pool: string, workerId: string): string;
  /** What a worker subscribes to: its `rpc` and `infer` subjects. */
  requests(pool: string, workerId: string): string;
  /** Where a worker publishes its heartbeats. */
  heartbeat(pool: string, workerId: string): string;
  /** Where a worker says goodbye before it stops. */
  bye(pool: string, workerId: string): string;
  /** The prefix of a worker's reply subjects (its inbox), instead of the shared `_INBOX`. */
  inbox(pool: string, workerId: string): string;
  /** What the control plane subscribes to for every worker's heartbeats: `<prefix>.heartbeat.<pool>.<id>`. */
  readonly allHeartbeats: string;
  readonly allByes: string;
  /** Heartbeats of workers of subject layout version 1 (`<prefix>.heartbeat.<id>`), to tell them to upgrade. */
  readonly legacyHeartbeats: string;
  /** Chunks of model artifacts, served by the control plane. */
  readonly artifacts: string;
}

/** Builds the subjects under `prefix` (default `gekko`). Pools and ids must be safe tokens. */
export function natsSubjects(prefix = DEFAULT_SUBJECT_PREFIX): NatsSubjects {
  if (!isValidSubjectPrefix(prefix)) {
    throw new Error(
      `Invalid NATS subject prefix ${JSON.stringify(
        prefix,
      )}: use tokens of letters, digits, '-' and '_', separated by dots`,
    );
  }
  return {
    rpc: (pool, id) => `${prefix}.worker.${pool}.${id}.rpc`,
    infer: (pool, id) => `${prefix}.worker.${pool}.${id}.infer`,
    requests: (pool, id) => `${prefix}.worker.${pool}.${id}.*`,
    heartbeat: (pool, id) => `${prefix}.heartbeat.${pool}.${id}`,
    bye: (pool, id) => `${prefix}.bye.${pool}.${id}`,
    inbox: (pool, id) => `${prefix}.inbox.${pool}.${id}`,
    allHeartbeats: `${prefix}.heartbeat.*.*`,
    allByes: `${prefix}.bye.*.*`,
    legacyHeartbeats: `${prefix}.heartbeat.*`,
    artifacts: `${prefix}.artifacts.get`,
  };
}

/** The pool and worker id in the last two tokens of a heartbeat or goodbye subject. */
export function poolAndIdOfSubject(subject: string): {
  pool: string;
  id: string;
} {
  const tokens = subject.split('.');
  return { pool: tokens[tokens.length - 2] ?? '', id: tokens.at(-1) ?? '' };
}

const SAFE_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** Whether `value` can be one token of a NATS subject: no dots, spaces or wildcards. */
export function isSafeNatsToken(value: string): boolean {
  return SAFE_TOKEN.test(value);
}

/** Whether `prefix` is one or more safe tokens separated by dots. */
export function isValidSubjectPrefix(prefix: string): boolean {
  return prefix.split('.').every(isSafeNatsToken);
}

/** A worker id unique per process: `${hostname}-${pid}-${random hex}`, made a safe subject token. */
export function defaultNatsWorkerId(): string {
  const host =
    os
      .hostname()
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 64) || 'host';
  return `${host}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
}

/** Largest artifact chunk per request: 512 KiB, and 4 KiB under the server's `max_payload`. */
export function artifactChunkBytes(maxPayload: number | undefined): number {
  const limit = (maxPayload ?? 1024 * 1024) - 4096;
  return Math.max(1024, Math.min(512 * 1024, limit));
}
