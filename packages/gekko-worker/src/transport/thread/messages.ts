import type {
  HeartbeatMessage,
  InferRequest,
  WorkerCommand,
} from '../../protocol/types';

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
