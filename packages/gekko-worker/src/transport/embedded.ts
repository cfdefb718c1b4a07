import crypto from 'node:crypto';
import os from 'node:os';
import type { WorkerIdentity, WorkerLinkEvents } from '../protocol/types';

/**
 * Options of the embedded connections (`ThreadWorkerConnection.start`,
 * `InProcessWorkerConnection.start`): workers inside the backend's process.
 */
export interface EmbeddedConnectionOptions {
  pool: string;
  events: WorkerLinkEvents;
  /** Defaults to a new unique id. */
  id?: string;
  heartbeatIntervalMs?: number;
  /** onnxruntime intra-op threads per inference (a thread defaults to 1, in-process to onnxruntime's own). */
  intraOpThreads?: number;
  modelsDir?: string;
  /** Called once when the worker has ended: a thread's exit code; in-process 0 after close, 70 after a crash. */
  onExit?: (code: number) => void;
}

/**
 * The identity of a worker inside this process (a thread, or on the event loop): `id` when given,
 * else `<host>:<pid>:<t|p><random>`.
 */
export function embeddedIdentity(
  transport: 'thread' | 'in-process',
  pool: string,
  id?: string,
): WorkerIdentity {
  return {
    id:
      id ??
      `${os.hostname()}:${process.pid}:${
        transport === 'thread' ? 't' : 'p'
      }${crypto.randomBytes(3).toString('hex')}`,
    pool,
    transport,
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
}
