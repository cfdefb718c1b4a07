import { InputError } from '@backstage/errors';
import type { ModelTensorSpec } from '@gekko/plugin-gekko-common';
import { inspectOnnx, ModelArtifactRef } from '@gekko/worker';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { StoredModelVersion } from './ModelStore';

/** What registering a version learns from its ONNX file. */
export interface InspectedArtifact {
  sha256: string;
  sizeBytes: number;
  inputs: ModelTensorSpec[];
  outputs: ModelTensorSpec[];
}

function sha256Of(bytes: Uint8Array): string {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

/** Tensor shapes a `model.json` beside the artifact declares, by tensor name. */
async function readSidecar(
  file: string,
): Promise<Map<string, number[]> | undefined> {
  try {
    const meta = JSON.parse(await fs.readFile(file, 'utf8'));
    const map = new Map<string, number[]>();
    for (const t of [...(meta.inputs ?? []), ...(meta.outputs ?? [])]) {
      if (typeof t?.name === 'string' && Array.isArray(t.shape)) {
        map.set(t.name, t.shape.map(Number));
      }
    }
    return map;
  } catch {
    return undefined;
  }
}

/**
 * The models folder: ONNX artifacts are read from it, inspected (hash, size, tensor signature read
 * from the protobuf, without an inference session) and served by hash to workers that have no copy.
 */
export class ModelArtifacts {
  private readonly root: string;

  /** @param modelsDir - absolute path of the folder model artifacts are registered from */
  constructor(modelsDir: string) {
    this.root = path.resolve(modelsDir);
  }

  /** The artifact reference a worker loads, from a stored version. */
  refOf(model: StoredModelVersion): ModelArtifactRef {
    return {
      name: model.name,
      version: model.version,
      relativePath: model.artifact,
      absolutePath: path.join(this.root, model.artifact),
      sha256: model.sha256,
      sizeBytes: model.sizeBytes,
      batching: {
        maxBatchSize: model.maxBatchSize,
        maxQueueDelayMs: model.maxQueueDelayMs,
      },
    };
  }

  /** The bytes of an artifact, when the file still has the registered hash. */
  async read(
    relative: string,
    sha256: string,
  ): Promise<Uint8Array | undefined> {
    const bytes = await fs.readFile(path.join(this.root, relative));
    return sha256Of(bytes) === sha256 ? bytes : undefined;
  }

  /**
   * Reads an artifact of the models folder: its hash, size and tensor signature. Throws an
   * `InputError` naming the `artifact` field when the file is missing, outside the folder, not ONNX,
   * or not servable (the gateway takes one float32 input of shape [batch, features…]).
   */
  async inspect(relative: string): Promise<InspectedArtifact> {
    const file = path.resolve(this.root, relative);
    if (!file.startsWith(this.root + path.sep)) {
      throw new InputError(
        'Invalid model version: artifact: must be a path inside the models folder',
      );
    }
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch {
      throw new InputError(
        `Invalid model version: artifact: there is no file ${relative} in the models folder (${this.root}); copy the ONNX file there first`,
      );
    }
    let signature;
    try {
      signature = inspectOnnx(bytes);
    } catch (error) {
      throw new InputError(
        `Invalid model version: artifact: ${relative} is not a readable ONNX model (${
          (error as Error).message
        })`,
      );
    }
    const declared = await readSidecar(
      path.join(path.dirname(file), 'model.json'),
    );
    const spec = (t: {
      name: string;
      dtype: string;
      shape: Array<number | string>;
    }): ModelTensorSpec => {
      const known = declared?.get(t.name);
      return {
        name: t.name,
        dtype: t.dtype as 'float32',
        shape: t.shape.map((d, i) => {
          if (typeof d === 'number' && d > 0) return d;
          // A symbolic dimension the exporter left: model.json may declare it (never the batch).
          if (i > 0 && known && known[i] > 0) return known[i];
          return -1;
        }),
      };
    };
    const inputs = signature.inputs.map(spec);
    const outputs = signature.outputs.map(spec);
    if (inputs.length !== 1 || inputs[0].dtype !== 'float32') {
      throw new InputError(
        `Invalid model version: artifact: the gateway serves models with exactly one float32 input; ${relative} has ${inputs
          .map(i => `${i.name} (${i.dtype})`)
          .join(', ')}`,
      );
    }
    if (
      inputs[0].shape.length < 2 ||
      inputs[0].shape.slice(1).some(d => d < 1)
    ) {
      throw new InputError(
        `Invalid model version: artifact: the input ${
          inputs[0].name
        } must be [batch, features…] with fixed feature dimensions; it is [${inputs[0].shape.join(
          ', ',
        )}]`,
      );
    }
    return {
      sha256: sha256Of(bytes),
      sizeBytes: bytes.length,
      inputs,
      outputs,
    };
  }
}
