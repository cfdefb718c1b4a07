import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  BatchTooLargeError,
  InputShapeError,
} from '../batching/DynamicBatcher';
import {
  ModelAlreadyLoadedError,
  ModelHost,
  ModelNotLoadedError,
  ModelSource,
} from '../runtime/ModelHost';
import { TelemetrySampler } from '../telemetry/TelemetrySampler';
import {
  HeartbeatMessage,
  InferReply,
  InferRequest,
  LoadReply,
  ModelArtifactRef,
  WorkerCommand,
  WorkerFailure,
  WorkerIdentity,
} from '../protocol/types';

/** Fetches an artifact's bytes from the control plane when the worker has no local copy. */
export type ArtifactFetcher = (ref: ModelArtifactRef) => Promise<Uint8Array>;

/** Options of a {@link WorkerAgent}. */
export interface WorkerAgentOptions {
  identity: WorkerIdentity;
  host: ModelHost;
  sampler?: TelemetrySampler;
  /** The worker's own models folder, searched first (by relative path, checked by SHA-256). */
  modelsDir?: string;
  /** Whether `absolutePath` of an artifact may be read (true for threads on the backend's host). */
  trustAbsolutePaths?: boolean;
  fetchArtifact?: ArtifactFetcher;
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/**
 * The transport-agnostic core of a worker: answers control commands and inference requests with a
 * {@link ModelHost}, and produces heartbeats. Transports only move its messages.
 */
export class WorkerAgent {
  private seq = 0;
  private shuttingDown = false;

  constructor(private readonly options: WorkerAgentOptions) {}

  get identity(): WorkerIdentity {
    return this.options.identity;
  }

  /** Answers a control command; rejects with a {@link WorkerFailure}. */
  async command(command: WorkerCommand): Promise<unknown> {
    switch (command?.op) {
      case 'load':
        return this.load(command.model);
      case 'unload':
        return {
          unloaded: await this.options.host.unload(
            command.name,
            command.version,
          ),
        };
      case 'describe':
        return {
          identity: this.identity,
          models: this.options.host.list().map(m => ({
            name: m.name,
            version: m.version,
            provider: m.provider,
          })),
        };
      default:
        throw new WorkerFailure(
          'BAD_COMMAND',
          `Unknown command ${JSON.stringify((command as any)?.op)}`,
        );
    }
  }

  /**
   * Runs one request through the model's dynamic batcher; rejects with a {@link WorkerFailure}. Not
   * `async`: the answer is one `.then` on the batcher's promise, as this is every request's path.
   */
  infer(request: InferRequest): Promise<InferReply> {
    if (this.shuttingDown) {
      return Promise.reject(
        new WorkerFailure('SHUTTING_DOWN', 'The worker is shutting down'),
      );
    }
    if (request.deadline !== undefined && Date.now() > request.deadline) {
      return Promise.reject(
        new WorkerFailure(
          'DEADLINE_EXCEEDED',
          'The request arrived after its deadline',
        ),
      );
    }
    const { host } = this.options;
    const info = host.get(request.name, request.version);
    if (!info) {
      return Promise.reject(
        new WorkerFailure(
          'MODEL_NOT_LOADED',
          `Model ${request.name}@${request.version} is not loaded on worker ${this.identity.id}`,
        ),
      );
    }
    return host
      .inferTimed(request.name, request.version, request.input, request.rows)
      .then(
        timed => {
          const outputs: InferReply['outputs'] = {};
          for (const [name, tensor] of Object.entries(timed.outputs)) {
            outputs[name] = { dims: tensor.dims, data: tensor.data };
          }
          return {
            outputs,
            provider: info.provider,
            queueMs: timed.queueMs,
            computeMs: timed.computeMs,
            batchRows: timed.batchRows,
          };
        },
        error => {
          throw toFailure(error);
        },
      );
  }

  /** The next heartbeat message. */
  async heartbeat(): Promise<HeartbeatMessage> {
    const sampler =
      this.options.sampler ??
      new TelemetrySampler({ workload: this.options.host });
    this.options.sampler = sampler;
    const heartbeat = await sampler.sample();
    this.seq += 1;
    return { worker: this.identity, seq: this.seq, heartbeat };
  }

  /** Refuses new requests and unloads every model once running batches finish. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.options.host.close();
  }

  private async load(ref: ModelArtifactRef): Promise<LoadReply> {
    const existing = this.options.host.get(ref.name, ref.version);
    if (existing) {
      return {
        name: ref.name,
        version: ref.version,
        provider: existing.provider,
        fallbacks: existing.fallbacks,
        alreadyLoaded: true,
      };
    }
    const source = await this.resolve(ref);
    try {
      const loaded = await this.options.host.load({
        name: ref.name,
        version: ref.version,
        source,
        batching: ref.batching,
      });
      return {
        name: loaded.name,
        version: loaded.version,
        provider: loaded.provider,
        fallbacks: loaded.fallbacks,
        alreadyLoaded: false,
      };
    } catch (error) {
      if (error instanceof ModelAlreadyLoadedError) {
        const info = this.options.host.get(ref.name, ref.version);
        if (info) {
          return {
            name: ref.name,
            version: ref.version,
            provider: info.provider,
            fallbacks: info.fallbacks,
            alreadyLoaded: true,
          };
        }
      }
      throw new WorkerFailure(
        'LOAD_FAILED',
        `Could not load ${ref.name}@${ref.version}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }

  /** Finds the artifact's bytes: a trusted absolute path, the worker's models folder, or the control plane. */
  private async resolve(ref: ModelArtifactRef): Promise<ModelSource> {
    const candidates: string[] = [];
    if (this.options.trustAbsolutePaths && ref.absolutePath) {
      candidates.push(ref.absolutePath);
    }
    if (this.options.modelsDir) {
      const local = path.resolve(this.options.modelsDir, ref.relativePath);
      if (local.startsWith(path.resolve(this.options.modelsDir) + path.sep)) {
        candidates.push(local);
      }
    }
    for (const file of candidates) {
      try {
        const bytes = await fs.readFile(file);
        if (sha256(bytes) === ref.sha256) {
          return { bytes };
        }
      } catch {
        // not here; try the next place
      }
    }
    if (this.options.fetchArtifact) {
      const bytes = await this.options.fetchArtifact(ref);
      if (sha256(bytes) !== ref.sha256) {
        throw new WorkerFailure(
          'ARTIFACT_UNAVAILABLE',
          `The artifact of ${ref.name}@${ref.version} arrived with the wrong SHA-256`,
        );
      }
      return { bytes };
    }
    throw new WorkerFailure(
      'ARTIFACT_UNAVAILABLE',
      `No copy of ${ref.relativePath} with SHA-256 ${ref.sha256.slice(
        0,
        12,
      )}… on worker ${this.identity.id}; put it in the worker's models folder`,
    );
  }
}

/** Maps the model host's errors to the protocol's codes. */
export function toFailure(error: unknown): WorkerFailure {
  if (error instanceof WorkerFailure) return error;
  if (error instanceof BatchTooLargeError) {
    return new WorkerFailure('BATCH_TOO_LARGE', error.message);
  }
  if (error instanceof InputShapeError) {
    return new WorkerFailure('INPUT_SHAPE', error.message);
  }
  if (error instanceof ModelNotLoadedError) {
    return new WorkerFailure('MODEL_NOT_LOADED', error.message);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/unloaded|being unloaded/.test(message)) {
    return new WorkerFailure('MODEL_NOT_LOADED', message);
  }
  return new WorkerFailure('INTERNAL', message);
}
