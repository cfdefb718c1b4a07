import {
  ConflictError,
  InputError,
  ServiceUnavailableError,
} from '@backstage/errors';
import type { PredictResponse } from '@gekko/plugin-gekko-common';
import {
  CALLER_ERROR_CODES,
  InferReply,
  InferRequest,
  WorkerFailure,
  WireTensor,
} from '@gekko/worker';
import type { GpuManager, ManagedWorker } from '../gpu/GpuManager';
import { HttpError } from '../service/http';
import type { InferenceMetrics } from '../monitoring/InferenceMetrics';
import type { ModelRegistry } from './ModelRegistry';
import type { StoredModelVersion } from './ModelStore';
import type { VersionTraffic } from './VersionTraffic';

/** One request to the gateway: `rows` rows of float32 features. */
export interface GatewayRequest {
  model: string;
  /** A specific version; otherwise one is drawn by traffic weight. */
  version?: string;
  rows: number;
  /** The shape of one row as the caller sent it, e.g. `[120]`. */
  featureShape: number[];
  input: Float32Array;
  /** How long the caller waits in total, failovers included. */
  deadlineMs?: number;
}

/** What the gateway answers: the outputs and who served them. */
export interface GatewayResult {
  model: string;
  version: string;
  worker: string;
  pool: string;
  provider: PredictResponse['provider'];
  attempts: number;
  outputs: Record<string, WireTensor>;
  latencyMs: number;
}

/** Where one request stands in its attempts. */
interface AttemptState {
  request: GatewayRequest;
  /** The versions to try, in order, and the one being tried. */
  candidates: StoredModelVersion[];
  index: number;
  started: number;
  deadline: number;
  attempts: number;
  /** The workers that failed this request; made on its first failure. */
  tried?: Set<string>;
  lastFailure?: WorkerFailure;
}

/** Options of an {@link InferenceGateway}. */
export interface InferenceGatewayOptions {
  /** Deadline of a request that sets none; defaults to 10 s. */
  defaultDeadlineMs?: number;
  /** Where each attempt's latency and outcome per version is kept, for deployment analysis. */
  traffic?: VersionTraffic;
}

/**
 * The inference gateway: validates a request against the model version's signature, has the GPU
 * manager pick a worker, and sends it over the worker's transport. A worker that fails, dies or is
 * too slow is excluded and the request is retried on another, within the caller's deadline.
 */
export class InferenceGateway {
  private readonly defaultDeadlineMs: number;

  constructor(
    private readonly models: ModelRegistry,
    private readonly manager: GpuManager,
    private readonly metrics: InferenceMetrics | undefined,
    options: InferenceGatewayOptions = {},
  ) {
    this.defaultDeadlineMs = options.defaultDeadlineMs ?? 10_000;
    this.traffic = options.traffic;
  }

  private readonly traffic: VersionTraffic | undefined;

  /**
   * Serves `request` on a worker of its model version, failing over to another worker (then to the
   * next version in traffic order) when one fails, within the caller's deadline. Not `async`: each
   * attempt is one `.then` on the worker's answer, so a request answered first time lives through
   * one promise layer here.
   */
  predict(request: GatewayRequest): Promise<GatewayResult> {
    let candidates: StoredModelVersion[];
    try {
      candidates = this.versionsFor(request);
      this.validate(request, candidates[0]);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.attempt({
      request,
      candidates,
      index: 0,
      started: performance.now(),
      deadline: Date.now() + (request.deadlineMs ?? this.defaultDeadlineMs),
      attempts: 0,
    });
  }

  /** The next attempt of a request: on the next worker of its current version, or of the next. */
  private attempt(state: AttemptState): Promise<GatewayResult> {
    const { request, candidates } = state;
    for (; state.index < candidates.length; state.index++) {
      const model = candidates[state.index];
      const remaining = state.deadline - Date.now();
      if (remaining <= 0) {
        this.metrics?.failure(model, 'deadline');
        return Promise.reject(
          new HttpError(
            504,
            'GatewayTimeoutError',
            `No answer for ${model.name}@${model.version} within the ${
              request.deadlineMs ?? this.defaultDeadlineMs
            } ms deadline after ${state.attempts} attempt(s)${
              state.lastFailure
                ? `; last failure: ${state.lastFailure.message}`
                : ''
            }`,
          ),
        );
      }
      const worker = this.manager.pick(
        model.name,
        model.version,
        model.pools,
        state.tried,
      );
      if (!worker) continue;
      state.attempts += 1;
      // A slow worker must leave time for another: an attempt gets at most half of what is left,
      // unless that is very little.
      const attemptMs = Math.min(remaining, Math.max(250, remaining / 2));
      const attemptStarted = performance.now();
      worker.outstanding += 1;
      let sent: Promise<InferReply>;
      try {
        sent = this.send(worker, model, request, state.deadline, attemptMs);
      } catch (error) {
        sent = Promise.reject(error);
      }
      return sent.then(
        reply => {
          worker.outstanding -= 1;
          const latencyMs = performance.now() - state.started;
          this.metrics?.success(model, worker, request.rows, reply, latencyMs);
          this.traffic?.record(
            model.name,
            model.version,
            performance.now() - attemptStarted,
            true,
          );
          return {
            model: model.name,
            version: model.version,
            worker: worker.id,
            pool: worker.pool,
            provider: reply.provider,
            attempts: state.attempts,
            outputs: reply.outputs,
            latencyMs,
          };
        },
        error => {
          worker.outstanding -= 1;
          const failure =
            error instanceof WorkerFailure
              ? error
              : new WorkerFailure('INTERNAL', String(error));
          if (CALLER_ERROR_CODES.has(failure.code as any)) {
            this.metrics?.failure(model, 'bad_input');
            throw failure.code === 'BATCH_TOO_LARGE'
              ? new HttpError(413, 'PayloadTooLargeError', failure.message)
              : new InputError(failure.message);
          }
          // The workers that failed this request; made on the first failure, as most have none.
          (state.tried ??= new Set()).add(worker.id);
          this.metrics?.retry(model, worker, failure.code);
          this.traffic?.record(
            model.name,
            model.version,
            performance.now() - attemptStarted,
            false,
          );
          state.lastFailure = failure;
          return this.attempt(state);
        },
      );
    }
    const pools = [...new Set(candidates.flatMap(c => c.pools))];
    this.metrics?.failure(candidates[0], 'unavailable');
    return Promise.reject(
      new ServiceUnavailableError(
        state.lastFailure
          ? `Every worker that serves ${request.model} failed this request (${state.attempts} attempt(s)); last failure: ${state.lastFailure.message}`
          : `No ready worker in pool(s) ${pools.join(', ')} has ${
              request.model
            }@${candidates
              .map(c => c.version)
              .join(
                '/',
              )} loaded. Start a worker for the pool (gekko-worker --pool ${
              pools[0]
            }) or check GET /gpu/workers`,
      ),
    );
  }

  /** The versions to try: the requested one, or the deployed ones in traffic order. */
  private versionsFor(request: GatewayRequest): StoredModelVersion[] {
    const versions = this.models.versionsOf(request.model);
    if (request.version) {
      const model = versions.find(v => v.version === request.version);
      if (!model) {
        throw new InputError(
          `version: model ${request.model} has no version ${
            request.version
          }; it has ${versions.map(v => v.version).join(', ')}`,
        );
      }
      if (model.state !== 'deployed') {
        throw new ConflictError(
          `Model ${request.model} version ${request.version} is registered but not deployed; deploy it first`,
        );
      }
      return [model];
    }
    const order = this.models.routeOrder(request.model);
    if (order.length === 0) {
      throw new ConflictError(
        `Model ${request.model} has no deployed version with traffic; deploy a version first`,
      );
    }
    return order;
  }

  private validate(request: GatewayRequest, model: StoredModelVersion) {
    const expected = model.inputs[0].shape.slice(1);
    const got = request.featureShape;
    if (
      expected.length !== got.length ||
      expected.some((d, i) => d !== got[i])
    ) {
      throw new InputError(
        `inputs: ${model.name}@${
          model.version
        } expects shape [rows, ${expected.join(', ')}], got [${
          request.rows
        }, ${got.join(', ')}]`,
      );
    }
    if (request.rows > model.maxBatchSize) {
      throw new HttpError(
        413,
        'PayloadTooLargeError',
        `inputs: ${request.rows} rows is more than ${model.name}@${model.version} takes in one request (maxBatchSize ${model.maxBatchSize}); split it into smaller requests`,
      );
    }
  }

  /**
   * One attempt on `worker`. A worker on this event loop (in-process) is called directly: its
   * answer is the agent's own promise, with no timeout or loss tracking of the transport in between
   * (`WorkerConnection.inferDirect`, which only an in-process worker has); it cannot go silent while this loop runs,
   * and a crash fails its queued requests, which then fail over like any other failure. Not `async`:
   * each promise layer here is one more the request's objects live through.
   */
  private send(
    worker: ManagedWorker,
    model: StoredModelVersion,
    request: GatewayRequest,
    deadline: number,
    timeoutMs: number,
  ): Promise<InferReply> {
    const infer: InferRequest = {
      name: model.name,
      version: model.version,
      rows: request.rows,
      input: request.input,
      deadline,
    };
    const { connection } = worker;
    return connection.inferDirect
      ? connection.inferDirect(infer)
      : worker.whileAlive(connection.infer(infer, timeoutMs));
  }
}
