import { z } from 'zod';
import { dnsLabel } from './validation';
import type { WorkerModelPlacement } from './gpu';

/** An input or output tensor of a model; `-1` in a shape is the batch (rows) dimension. @public */
export interface ModelTensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A registered model version. @public */
export interface ModelVersion {
  name: string;
  version: string;
  /** Path of the ONNX file, relative to the backend's models folder. */
  artifact: string;
  sha256: string;
  sizeBytes: number;
  description?: string;
  inputs: ModelTensorSpec[];
  outputs: ModelTensorSpec[];
  /** Pools that serve it, in order of preference: the first is its home, later ones take over when it has no ready worker. */
  pools: string[];
  /** `deployed` versions are loaded on their pools' workers. */
  state: 'registered' | 'deployed';
  /** Share of the model's traffic, relative to the other deployed versions' weights. */
  weight: number;
  maxBatchSize: number;
  maxQueueDelayMs: number;
  createdAt: string;
  updatedAt: string;
  /** Where it is loaded right now (live, from the GPU manager). */
  placements: Array<WorkerModelPlacement & { workerId: string; pool: string }>;
  /** After a deploy: workers that could not load it, and why. */
  loadErrors?: Array<{ workerId: string; error: string }>;
}

/** `GET /inference/models`. @public */
export interface ModelVersionList {
  items: ModelVersion[];
}

/** A model version name: `1`, `2026-11-25`, `v3.1-canary`. @public */
export const modelVersionName = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'must be letters, digits, dots, dashes or underscores',
  );

const artifactPath = z
  .string()
  .min(1, 'must not be empty')
  .max(500)
  .regex(/\.onnx$/, 'must name an .onnx file')
  .refine(
    p => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'),
    'must be a path inside the models folder (no leading / and no ..)',
  );

/** Body of `POST /inference/models`: register a model version from the models folder. @public */
export const registerModelVersionSchema = z
  .object({
    name: dnsLabel,
    version: modelVersionName,
    artifact: artifactPath,
    description: z.string().max(1000).optional(),
    pools: z.array(dnsLabel).min(1, 'must name at least one pool').max(8),
    maxBatchSize: z.number().int().min(1).max(4096).default(64),
    // 0, as Triton's max_queue_delay_microseconds: a batch forms from what queued while the last one ran.
    maxQueueDelayMs: z.number().min(0).max(1000).default(0),
  })
  .strict();

/** A model version as config or the API registers it. @public */
export type RegisterModelVersion = z.input<typeof registerModelVersionSchema>;

/** Body of `PUT /inference/models/:name/versions/:version/deployment`. @public */
export const deployModelVersionSchema = z
  .object({
    weight: z.number().int().min(0).max(10_000).default(100),
    pools: z.array(dnsLabel).min(1).max(8).optional(),
  })
  .strict();

/** Body of `PUT /inference/models/:name/traffic`: weight per deployed version. @public */
export const modelTrafficSchema = z
  .object({
    weights: z
      .record(modelVersionName, z.number().int().min(0).max(10_000))
      .refine(w => Object.keys(w).length > 0, 'must name at least one version')
      .refine(
        w => Object.values(w).some(v => v > 0),
        'at least one version needs a weight above 0',
      ),
  })
  .strict();

/** Largest number of values a JSON predict body may carry (rows x features). @public */
export const MAX_PREDICT_VALUES = 1_048_576;

/**
 * Body of `POST /inference/models/:name/predict` in JSON: `inputs` as rows (`number[][]`), or flat `data`
 * with its `shape`. The binary form sends `application/octet-stream` little-endian float32 with the
 * shape in the `x-gekko-shape` header (`rows,features`).
 * @public
 */
export const predictRequestSchema = z
  .object({
    inputs: z
      .array(z.array(z.number()))
      .min(1, 'must hold at least one row')
      .optional(),
    data: z.array(z.number()).optional(),
    shape: z.array(z.number().int().min(1)).min(1).max(8).optional(),
    version: modelVersionName.optional(),
    deadlineMs: z.number().int().min(1).max(60_000).optional(),
  })
  .strict()
  .refine(b => (b.inputs === undefined) !== (b.data === undefined), {
    message:
      'give either inputs (rows) or data with shape, not both or neither',
    path: ['inputs'],
  })
  .refine(b => b.data === undefined || b.shape !== undefined, {
    message: 'is required with data',
    path: ['shape'],
  });

/** A parsed predict request. @public */
export type PredictRequest = z.infer<typeof predictRequestSchema>;

/** The answer of `POST /inference/models/:name/predict`. @public */
export interface PredictResponse {
  model: string;
  version: string;
  worker: string;
  pool: string;
  provider: 'cuda' | 'coreml' | 'cpu';
  /** How many workers were tried (more than 1 after a failover). */
  attempts: number;
  outputs: Record<string, { shape: number[]; data: number[] }>;
  latencyMs: number;
}

/** Events topic on which a backend replica announces a change of the model registry. @public */
export const MODEL_VERSION_EVENTS_TOPIC = 'gekko.model-versions';

/** Payload of a model registry change: the model whose versions changed, and the replica. @public */
export interface ModelVersionsChangedEvent {
  name: string;
  /** The replica that made the change (it has applied it already). */
  origin: string;
}
