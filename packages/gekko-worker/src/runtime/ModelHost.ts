import * as ort from 'onnxruntime-node';
import fs from 'node:fs';
import path from 'node:path';
import {
  DynamicBatcher,
  DynamicBatchingConfig,
  InferenceOutputs,
  TimedOutputs,
} from '../batching/DynamicBatcher';
import { LatencyWindow, WorkloadStats } from '../batching/LatencyWindow';
import { createHostSession, HostSession } from './nativeSession';

/** An onnxruntime execution provider the worker knows how to ask for. */
export type ExecutionProvider = 'cuda' | 'coreml' | 'cpu';

/** Which execution provider a model should use; `auto` picks by host. */
export type ProviderPreference = 'auto' | ExecutionProvider;

/** Name, element type and shape of a model input or output; symbolic dimensions stay strings. */
export interface TensorSpec {
  name: string;
  type?: string;
  shape?: Array<number | string>;
}

/** Where a model's ONNX bytes come from. */
export type ModelSource = { path: string } | { bytes: Uint8Array };

/** What {@link ModelHost.load} needs to load one model version. */
export interface LoadModelRequest {
  name: string;
  version: string;
  source: ModelSource;
  /** Overrides the host's provider preference for this model. */
  provider?: ProviderPreference;
  /** Dynamic batching for {@link ModelHost.infer}; the host's defaults apply where left out. */
  batching?: Partial<DynamicBatchingConfig>;
}

/** A model version loaded on this worker, with the provider its session was really created with. */
export interface LoadedModel {
  name: string;
  version: string;
  /** The first provider of the providers list that session creation accepted. */
  provider: ExecutionProvider;
  /** The full providers list that session creation accepted, in priority order. */
  providers: ExecutionProvider[];
  /** Provider lists that were tried first and failed, with the reason, for the worker's log. */
  fallbacks: Array<{ providers: ExecutionProvider[]; error: string }>;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  batching: DynamicBatchingConfig;
  loadedAt: Date;
}

/** Creates an onnxruntime session; replaceable in tests to simulate a failing provider. */
export type SessionFactory = (
  model: string | Uint8Array,
  options: ort.InferenceSession.SessionOptions,
) => Promise<HostSession>;

/** Options of a {@link ModelHost}. */
export interface ModelHostOptions {
  /** Defaults to `auto`: CUDA where its provider loads, CoreML on Apple Silicon, CPU otherwise. */
  provider?: ProviderPreference;
  /** Batching applied to models that do not set their own. */
  defaultBatching?: DynamicBatchingConfig;
  platform?: NodeJS.Platform;
  arch?: string;
  /** Backends compiled into the onnxruntime-node binary; defaults to `ort.listSupportedBackends()`. */
  supportedBackends?: string[];
  sessionFactory?: SessionFactory;
  /**
   * Threads onnxruntime may use inside one inference (intra-op). Leave unset for onnxruntime's
   * default (all cores); set 1 when several workers share a host, so they do not fight for cores.
   */
  intraOpThreads?: number;
}

/** Thrown when a model version is not loaded; the API maps it to 404. */
export class ModelNotLoadedError extends Error {
  constructor(name: string, version: string) {
    super(`Model ${name}@${version} is not loaded on this worker`);
    this.name = 'ModelNotLoadedError';
  }
}

/** Thrown when a model version is loaded twice; the API maps it to 409. */
export class ModelAlreadyLoadedError extends Error {
  constructor(name: string, version: string) {
    super(`Model ${name}@${version} is already loaded on this worker`);
    this.name = 'ModelAlreadyLoadedError';
  }
}

/**
 * Whether onnxruntime-node's CUDA provider library is installed beside its binding
 * (`ONNXRUNTIME_NODE_INSTALL=cuda12`). The npm package lists `cuda` as supported either way, and
 * trying it without the library makes the native code print a loud error for every session.
 */
function cudaProviderInstalled(): boolean {
  try {
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const dir = path.join(
      root,
      'bin',
      'napi-v6',
      process.platform,
      process.arch,
    );
    return fs
      .readdirSync(dir)
      .some(file => /onnxruntime_providers_cuda\.(so|dll)$/.test(file));
  } catch {
    return false;
  }
}

const DEFAULT_BATCHING: DynamicBatchingConfig = {
  maxBatchSize: 64,
  maxQueueDelayMs: 1,
};

interface Entry {
  info: LoadedModel;
  session: HostSession;
  batcher: DynamicBatcher;
  inputName: string;
  featureShape: number[];
}

function key(name: string, version: string) {
  return `${name}@${version}`;
}

function tensorSpecs(
  names: readonly string[],
  metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined,
): TensorSpec[] {
  return names.map(name => {
    const meta = metadata?.find(m => m.name === name);
    if (meta && meta.isTensor) {
      return { name, type: meta.type, shape: [...meta.shape] };
    }
    return { name };
  });
}

/**
 * Holds the ONNX models of one worker, keyed by name and version, each with its own
 * onnxruntime session and dynamic batcher.
 */
export class ModelHost {
  private readonly models = new Map<string, Entry>();
  /** Model versions whose session is being created, so a second load of one is refused. */
  private readonly loading = new Set<string>();
  private readonly preference: ProviderPreference;
  private readonly defaultBatching: DynamicBatchingConfig;
  private readonly platform: NodeJS.Platform;
  private readonly arch: string;
  private readonly supportedBackends: Set<string>;
  private readonly createSession: SessionFactory;
  private readonly intraOpThreads: number | undefined;
  private readonly window = new LatencyWindow();
  /** Providers whose libraries failed to load here; not tried again for later models. */
  private readonly unloadable = new Map<ExecutionProvider, string>();

  constructor(options: ModelHostOptions = {}) {
    this.preference = options.provider ?? 'auto';
    this.intraOpThreads = options.intraOpThreads;
    this.defaultBatching = options.defaultBatching ?? DEFAULT_BATCHING;
    this.platform = options.platform ?? process.platform;
    this.arch = options.arch ?? process.arch;
    this.supportedBackends = new Set(
      options.supportedBackends ??
        ort
          .listSupportedBackends()
          .map(backend => backend.name)
          .filter(name => name !== 'cuda' || cudaProviderInstalled()),
    );
    this.createSession = options.sessionFactory ?? createHostSession;
  }

  /**
   * The provider lists to try, best first. Only providers compiled into this
   * onnxruntime-node binary are asked for: onnxruntime-common silently drops an
   * unknown provider from the list, so a session "created with CoreML" on Linux
   * would really be a CPU session and we would report a lie.
   */
  providerCandidates(preference: ProviderPreference): ExecutionProvider[][] {
    const wanted: ExecutionProvider[] = [];
    if (preference === 'cuda' || preference === 'auto') {
      wanted.push('cuda');
    }
    if (
      preference === 'coreml' ||
      (preference === 'auto' &&
        this.platform === 'darwin' &&
        this.arch === 'arm64')
    ) {
      wanted.push('coreml');
    }
    return [
      ...wanted
        .filter(
          provider =>
            this.supportedBackends.has(provider) &&
            !this.unloadable.has(provider),
        )
        .map((provider): ExecutionProvider[] => [provider, 'cpu']),
      ['cpu'],
    ];
  }

  /** Loads a model version and creates its session and batcher. */
  async load(request: LoadModelRequest): Promise<LoadedModel> {
    const { name, version } = request;
    if (
      this.models.has(key(name, version)) ||
      this.loading.has(key(name, version))
    ) {
      throw new ModelAlreadyLoadedError(name, version);
    }
    this.loading.add(key(name, version));
    try {
      return await this.createEntry(request);
    } finally {
      this.loading.delete(key(name, version));
    }
  }

  private async createEntry(request: LoadModelRequest): Promise<LoadedModel> {
    const { name, version } = request;
    const model =
      'path' in request.source ? request.source.path : request.source.bytes;

    // onnxruntime-node does not say which execution provider a session ended up
    // with. We report the providers list that session creation accepted: a CUDA
    // provider whose libraries are missing makes creation throw, and we fall back
    // to the next list. (Inside an accepted session onnxruntime may still place
    // single nodes on CPU; that partitioning is not visible from JavaScript.)
    const fallbacks: LoadedModel['fallbacks'] = [];
    let session: HostSession | undefined;
    let providers: ExecutionProvider[] = ['cpu'];
    for (const candidate of this.providerCandidates(
      request.provider ?? this.preference,
    )) {
      try {
        session = await this.createSession(model, {
          executionProviders: candidate,
          ...(this.intraOpThreads
            ? { intraOpNumThreads: this.intraOpThreads, interOpNumThreads: 1 }
            : {}),
        });
        providers = candidate;
        break;
      } catch (error) {
        if (candidate.length === 1 && candidate[0] === 'cpu') {
          throw error;
        }
        fallbacks.push({ providers: candidate, error: String(error) });
        // A provider library that does not load (CUDA without ONNXRUNTIME_NODE_INSTALL=cuda12)
        // will not load for the next model either; a model-specific refusal may.
        if (/shared library|failed to load/i.test(String(error))) {
          this.unloadable.set(candidate[0], String(error));
        }
      }
    }
    if (!session) {
      throw new Error(`Could not create a session for ${name}@${version}`);
    }

    const inputs = tensorSpecs(session.inputNames, session.inputMetadata);
    const outputs = tensorSpecs(session.outputNames, session.outputMetadata);
    const featureShape = (inputs[0]?.shape ?? [])
      .slice(1)
      .map(d => (typeof d === 'number' ? d : -1));
    const featureSize = featureShape.every(d => d > 0)
      ? featureShape.reduce((a, b) => a * b, 1)
      : undefined;
    const batching = { ...this.defaultBatching, ...request.batching };

    const entry: Entry = {
      session,
      inputName: inputs[0]?.name ?? 'input',
      featureShape,
      info: {
        name,
        version,
        provider: providers[0],
        providers,
        fallbacks,
        inputs,
        outputs,
        batching,
        loadedAt: new Date(),
      },
      batcher: new DynamicBatcher(
        (input, rows) => this.runRows(entry, input, rows),
        {
          ...batching,
          featureSize,
          onRequestComplete: (latencyMs, rows) =>
            this.window.record(latencyMs, rows),
        },
      ),
    };
    await this.warmUp(entry, featureSize, batching.maxBatchSize);
    this.models.set(key(name, version), entry);
    return entry.info;
  }

  /**
   * Runs a new session a few times on zeros before it serves (as Triton's model warm-up does): its
   * first runs allocate buffers and pick kernels, and would otherwise land on the first live
   * requests, the very ones a canary's analysis compares with the version it replaces. A model that
   * fails on zeros is left to fail on real input, where the error means something.
   */
  private async warmUp(
    entry: Entry,
    featureSize: number | undefined,
    maxBatchSize: number,
  ): Promise<void> {
    const input = entry.info.inputs[0];
    if (!featureSize || (input?.type && input.type !== 'float32')) return;
    for (const rows of [1, 1, 1, Math.max(1, maxBatchSize)]) {
      try {
        await this.runRows(entry, new Float32Array(rows * featureSize), rows);
      } catch {
        return;
      }
    }
  }

  /** Unloads a model version; requests still queued for it are rejected. Returns false when it was not loaded. */
  async unload(name: string, version: string): Promise<boolean> {
    const entry = this.models.get(key(name, version));
    if (!entry) {
      return false;
    }
    this.models.delete(key(name, version));
    await entry.batcher.close();
    await entry.session.release();
    return true;
  }

  /** The loaded model versions. */
  list(): LoadedModel[] {
    return [...this.models.values()].map(entry => entry.info);
  }

  /** One loaded model version, or undefined. */
  get(name: string, version: string): LoadedModel | undefined {
    return this.models.get(key(name, version))?.info;
  }

  /** Runs rows through the model directly, one inference, no batching. */
  async run(
    name: string,
    version: string,
    input: Float32Array,
    rows: number,
  ): Promise<InferenceOutputs> {
    return this.runRows(this.entry(name, version), input, rows);
  }

  /** Runs rows through the model's dynamic batcher, merged with other requests. */
  async infer(
    name: string,
    version: string,
    input: Float32Array,
    rows: number,
  ): Promise<InferenceOutputs> {
    return this.entry(name, version).batcher.submit(input, rows);
  }

  /** Like {@link ModelHost.infer}, with the request's queue and compute time. */
  inferTimed(
    name: string,
    version: string,
    input: Float32Array,
    rows: number,
  ): Promise<TimedOutputs> {
    // Not `async`: the batcher's own promise, with no layer around it (this is every request's path).
    const entry = this.models.get(key(name, version));
    if (!entry) return Promise.reject(new ModelNotLoadedError(name, version));
    return entry.batcher.submitTimed(input, rows);
  }

  /** Queue depth, throughput and latency percentiles over all models, for the heartbeat. */
  stats(): WorkloadStats {
    let queueDepth = 0;
    for (const entry of this.models.values()) {
      queueDepth += entry.batcher.queueDepth;
    }
    return { ...this.window.stats(), queueDepth };
  }

  /** Unloads every model. */
  async close(): Promise<void> {
    for (const { name, version } of this.list()) {
      await this.unload(name, version);
    }
  }

  private entry(name: string, version: string): Entry {
    const entry = this.models.get(key(name, version));
    if (!entry) {
      throw new ModelNotLoadedError(name, version);
    }
    return entry;
  }

  private async runRows(
    entry: Entry,
    input: Float32Array,
    rows: number,
  ): Promise<InferenceOutputs> {
    const dims = [rows, ...entry.featureShape];
    if (dims.some(d => d < 0)) {
      dims.splice(1, dims.length - 1, input.length / rows);
    }
    const feeds = { [entry.inputName]: new ort.Tensor('float32', input, dims) };
    // Synchronously where the session can: the batch runs in this turn of the event loop.
    const results = entry.session.runSync
      ? entry.session.runSync(feeds)
      : await entry.session.run(feeds);
    const outputs: InferenceOutputs = {};
    for (const [name, tensor] of Object.entries(results)) {
      outputs[name] = {
        data: tensor.data as Float32Array,
        dims: [...tensor.dims],
      };
    }
    return outputs;
  }
}
