import type { DynamicBatchingConfig } from '../batching/DynamicBatcher';
import type { ExecutionProvider } from '../runtime/ModelHost';
import type { WorkerHeartbeat } from '../telemetry/types';

/**
 * The messages between the control plane (the gekko backend's GPU manager) and a worker. The same
 * messages travel over both transports: `postMessage` for worker threads, NATS request-reply for
 * remote workers.
 */

/** Who a worker is; sent with every heartbeat, so a control plane that restarts learns it again. */
export interface WorkerIdentity {
  /** Unique per worker process or thread, e.g. `gpu-host-7:4711:ab12`. */
  id: string;
  /** The GPU pool this worker serves. */
  pool: string;
  /** `thread` and `in-process` are the backend's embedded workers; `nats` a remote one. */
  transport: 'thread' | 'in-process' | 'nats';
  host: string;
  pid: number;
  startedAt: string;
}

/** A model version a worker should load. */
export interface ModelArtifactRef {
  name: string;
  version: string;
  /** Path of the ONNX file relative to a models folder (the backend's, or the worker's own copy). */
  relativePath: string;
  /** Absolute path on the control plane's host; a worker on the same host (a thread) reads it directly. */
  absolutePath?: string;
  /** Hex SHA-256 of the file: a worker only uses a local copy whose hash matches. */
  sha256: string;
  sizeBytes: number;
  batching: DynamicBatchingConfig;
}

/** Control commands a worker answers. */
export type WorkerCommand =
  | { op: 'load'; model: ModelArtifactRef }
  | { op: 'unload'; name: string; version: string }
  | { op: 'describe' };

/** What `load` answers. */
export interface LoadReply {
  name: string;
  version: string;
  provider: ExecutionProvider;
  /** Provider lists tried and refused before the one used, with onnxruntime's reason. */
  fallbacks: Array<{ providers: ExecutionProvider[]; error: string }>;
  alreadyLoaded: boolean;
}

/** One inference request: `rows` rows of float32 features. */
export interface InferRequest {
  name: string;
  version: string;
  rows: number;
  input: Float32Array;
  /** Epoch milliseconds after which the caller no longer wants the answer. */
  deadline?: number;
}

/** One output tensor: float32 data with its dimensions. */
export interface WireTensor {
  dims: number[];
  data: Float32Array;
}

/** The answer to an {@link InferRequest}. */
export interface InferReply {
  outputs: Record<string, WireTensor>;
  provider: ExecutionProvider;
  queueMs: number;
  computeMs: number;
  batchRows: number;
}

/** Why a worker refused or failed a request. Input errors are the caller's; the rest may be retried elsewhere. */
export type WorkerErrorCode =
  | 'MODEL_NOT_LOADED'
  | 'BATCH_TOO_LARGE'
  | 'INPUT_SHAPE'
  | 'DEADLINE_EXCEEDED'
  | 'LOAD_FAILED'
  | 'ARTIFACT_UNAVAILABLE'
  | 'BAD_COMMAND'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

/** Error codes that say the request itself is wrong: retrying it on another worker cannot help. */
export const CALLER_ERROR_CODES: ReadonlySet<WorkerErrorCode> = new Set([
  'BATCH_TOO_LARGE',
  'INPUT_SHAPE',
]);

/** A failure a worker reported, or the transport observed (a dead or silent worker). */
export class WorkerFailure extends Error {
  constructor(
    readonly code: WorkerErrorCode | 'WORKER_LOST' | 'TIMEOUT',
    message: string,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }

  /** As sent over a transport. */
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A heartbeat with the identity of its sender. */
export interface HeartbeatMessage {
  worker: WorkerIdentity;
  /** Increases by one per heartbeat of this worker. */
  seq: number;
  heartbeat: WorkerHeartbeat;
  /**
   * Message kinds this worker accepts beyond one inference request per message; only NATS workers
   * send it. `infer-batch`: several requests in one message (see the package README). A control
   * plane sends a worker only what it says it accepts, so older workers keep working.
   */
  accepts?: string[];
}

/**
 * A live link from the control plane to one worker, whatever the transport. Implementations reject
 * with a {@link WorkerFailure}: the worker's own code, `TIMEOUT` when no answer came in time, or
 * `WORKER_LOST` when the link broke.
 */
export interface WorkerConnection {
  readonly identity: WorkerIdentity;
  command(command: WorkerCommand, timeoutMs: number): Promise<unknown>;
  infer(request: InferRequest, timeoutMs: number): Promise<InferReply>;
  /**
   * Only a worker on the caller's own event loop has it: the agent's answer with no timeout and no
   * loss tracking per request, for a caller that fails over by itself (the inference gateway).
   */
  inferDirect?(request: InferRequest): Promise<InferReply>;
  /** Ends the link (and, for a thread, the thread). */
  close(): Promise<void>;
}

/** Events a transport's control-plane side reports to the GPU manager. */
export interface WorkerLinkEvents {
  /** A heartbeat arrived; the first one of a worker registers it. */
  heartbeat(connection: WorkerConnection, message: HeartbeatMessage): void;
  /** The transport knows the worker is gone (thread exited, worker said goodbye). */
  gone(workerId: string, reason: string): void;
}
