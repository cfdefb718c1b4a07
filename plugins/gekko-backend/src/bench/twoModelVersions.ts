import { makeMlpModel } from '@gekko/worker';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The pool the fixtures serve on. */
export const cpuPool = {
  name: 'cpu-dr',
  title: 'CPU — DR',
  accelerator: 'cpu',
  region: 'dr',
  capacity: { devices: 0, memoryGiB: 64 },
  owner: 'group:default/platform',
};

/** Model `mlp` version 1 (deployed with all the traffic) and version 2 (registered only). */
export const mlpVersions = [
  {
    name: 'mlp',
    version: '1',
    artifact: 'mlp/1/model.onnx',
    pools: ['cpu-dr'],
  },
  {
    name: 'mlp',
    version: '2',
    artifact: 'mlp/2/model.onnx',
    pools: ['cpu-dr'],
    weight: 0,
  },
];

/**
 * A models folder of its own with two versions of one small model: the same tensors, other weights.
 * For tests and benchmarks; remove it afterwards.
 */
export function twoModelVersions(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-models-'));
  for (const version of ['1', '2']) {
    fs.mkdirSync(path.join(dir, 'mlp', version), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'mlp', version, 'model.onnx'),
      makeMlpModel({ seed: Number(version) }),
    );
  }
  return dir;
}

/** The `gekko` config of a backend that serves `mlp` from `modelsDir` with `workers` threads. */
export function mlpGekkoConfig(modelsDir: string, workers: number) {
  return {
    gpuPools: [cpuPool],
    gpu: { heartbeatInterval: { milliseconds: 200 } },
    inference: {
      modelsDir,
      embedded: { workers, pool: 'cpu-dr' },
      models: mlpVersions,
    },
  };
}
