import type {
  HeartbeatMessage,
  InferRequest,
  WorkerCommand,
} from '../../protocol/types';

/**
 * Messages sent in the same tick travel as one `batch`: a `postMessage` costs more than the
 * structured clone of a small request, so coalescing them raises what one thread link carries.
 */
export type ThreadBatch<T> = { type: 'batch'; messages: T[] };

/** Parent → thread. */
export type ThreadInbound =
  | { type: 'infer'; id: number; request: InferRequest }
  | { type: 'command'; id: number; command: WorkerCommand }
  | { type: 'shutdown' }
  | { type: 'crash' };

/** Thread → parent. */
export type ThreadOutbound =
  | { type: 'heartbeat'; message: HeartbeatMessage }
  | {
      type: 'reply';
      id: number;
      ok: true;
      value: any;
    }
  | {
      type: 'reply';
      id: number;
      ok: false;
      error: { code: string; message: string };
    }
  | { type: 'bye' };
