import crypto from 'node:crypto';
import os from 'node:os';
import type { WorkerIdentity } from '../protocol/types';

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
