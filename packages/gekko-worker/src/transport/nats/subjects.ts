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
} as const;

/** The NATS subjects of one deployment, all under `prefix`. */
export interface NatsSubjects {
  /** JSON `WorkerCommand` → JSON `{ ok, value }` or `{ ok, error }`. */
  rpc(workerId: string): string;
  /** Binary inference request → binary reply (see the package README). */
  infer(workerId: string): string;
  /** Where a worker publishes its heartbeats. */
  heartbeat(workerId: string): string;
  /** Where a worker says goodbye before it stops. */
  bye(workerId: string): string;
  /** What the control plane subscribes to for every worker's heartbeats. */
  readonly allHeartbeats: string;
  readonly allByes: string;
  /** Chunks of model artifacts, served by the control plane. */
  readonly artifacts: string;
}

/** Builds the subjects under `prefix` (default `gekko`). */
export function natsSubjects(prefix = DEFAULT_SUBJECT_PREFIX): NatsSubjects {
  if (!isValidSubjectPrefix(prefix)) {
    throw new Error(
      `Invalid NATS subject prefix ${JSON.stringify(
        prefix,
      )}: use tokens of letters, digits, '-' and '_', separated by dots`,
    );
  }
  return {
    rpc: id => `${prefix}.worker.${id}.rpc`,
    infer: id => `${prefix}.worker.${id}.infer`,
    heartbeat: id => `${prefix}.heartbeat.${id}`,
    bye: id => `${prefix}.bye.${id}`,
    allHeartbeats: `${prefix}.heartbeat.*`,
    allByes: `${prefix}.bye.*`,
    artifacts: `${prefix}.artifacts.get`,
  };
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
