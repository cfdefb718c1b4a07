import { parentPort, workerData } from 'node:worker_threads';
import { WorkerAgent, toFailure } from '../../agent/WorkerAgent';
import { ModelHost } from '../../runtime/ModelHost';
import type { InferReply, WorkerIdentity } from '../../protocol/types';
import type { ThreadBatch, ThreadInbound, ThreadOutbound } from './messages';

/** What the control plane passes to a worker thread. */
export interface ThreadWorkerData {
  identity: WorkerIdentity;
  heartbeatIntervalMs: number;
  intraOpThreads?: number;
  modelsDir?: string;
}

/** Runs inside a worker thread: serves the parent's messages with a {@link WorkerAgent}. */
export function runThreadWorker(): void {
  const port = parentPort;
  if (!port) {
    throw new Error('runThreadWorker must run inside a worker thread');
  }
  const data = workerData as ThreadWorkerData;
  const agent = new WorkerAgent({
    identity: data.identity,
    host: new ModelHost({ intraOpThreads: data.intraOpThreads }),
    modelsDir: data.modelsDir,
    trustAbsolutePaths: true,
  });
  let dying = false;
  // Replies finished in the same tick leave in one postMessage (see ThreadBatch).
  let outbox: ThreadOutbound[] = [];
  let transfers: ArrayBuffer[] = [];
  const post = (message: ThreadOutbound, transfer: ArrayBuffer[] = []) => {
    if (dying) return;
    outbox.push(message);
    transfers.push(...transfer);
    if (outbox.length > 1) return;
    queueMicrotask(() => {
      const messages = outbox;
      const buffers = transfers;
      outbox = [];
      transfers = [];
      if (dying) return;
      port.postMessage(
        messages.length === 1
          ? messages[0]
          : ({ type: 'batch', messages } satisfies ThreadBatch<ThreadOutbound>),
        buffers,
      );
    });
  };

  const beat = () =>
    agent.heartbeat().then(
      message => post({ type: 'heartbeat', message }),
      () => {},
    );
  beat();
  const timer = setInterval(beat, data.heartbeatIntervalMs);

  /** Answers request `id` with what `work` resolves to, or the failure it rejects with. */
  const answer = <T>(
    id: number,
    work: Promise<T>,
    transfer: (value: T) => ArrayBuffer[] = () => [],
  ) =>
    work.then(
      value => post({ type: 'reply', id, ok: true, value }, transfer(value)),
      error =>
        post({
          type: 'reply',
          id,
          ok: false,
          error: toFailure(error).toJSON(),
        }),
    );

  const receive = (message: ThreadInbound) => {
    if (message.type === 'infer') {
      answer(message.id, agent.infer(message.request), (reply: InferReply) =>
        Object.values(reply.outputs).map(t => t.data.buffer as ArrayBuffer),
      );
    } else if (message.type === 'command') {
      answer(message.id, agent.command(message.command));
    } else if (message.type === 'crash') {
      // Die as an uncaught error would, answering nothing more. The thread waits for native
      // onnxruntime runs to return first: ending a thread inside one aborts the whole process.
      dying = true;
      clearInterval(timer);
      agent.shutdown().finally(() => process.exit(70));
    } else if (message.type === 'shutdown') {
      clearInterval(timer);
      agent.shutdown().finally(() => {
        post({ type: 'bye' });
        setImmediate(() => port.close());
      });
    }
  };
  port.on('message', (message: ThreadInbound | ThreadBatch<ThreadInbound>) => {
    if (message.type === 'batch') message.messages.forEach(receive);
    else receive(message);
  });
}
