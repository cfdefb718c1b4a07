import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommandRunner, TelemetrySampler } from './TelemetrySampler';

const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

const missing: CommandRunner = async file => {
  throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
};

function commands(outputs: Record<string, string>): CommandRunner {
  return async (file, args, timeoutMs) =>
    file in outputs ? outputs[file] : missing(file, args, timeoutMs);
}

const workload = {
  list: () => [
    {
      name: 'mlp',
      version: '1',
      provider: 'cuda' as const,
      providers: ['cuda' as const, 'cpu' as const],
      fallbacks: [],
      inputs: [],
      outputs: [],
      batching: { maxBatchSize: 64, maxQueueDelayMs: 1 },
      loadedAt: new Date(),
    },
  ],
  stats: () => ({
    queueDepth: 3,
    requestsPerSecond: 120,
    rowsPerSecond: 960,
    latencyMs: { p50: 1.2, p95: 2.5, p99: 4.1 },
  }),
};

describe('TelemetrySampler', () => {
  it('reports a CUDA heartbeat from nvidia-smi with the workload', async () => {
    const sampler = new TelemetrySampler({
      runCommand: commands({ 'nvidia-smi': fixture('nvidia-smi-h100x2.csv') }),
      platform: 'linux',
      arch: 'x64',
      workload,
    });

    const heartbeat = await sampler.sample();

    expect(heartbeat).toMatchObject({
      acceleratorKind: 'cuda',
      deviceName: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 37,
      memoryUsedBytes: 10240 * 1024 * 1024,
      memoryTotalBytes: 81559 * 1024 * 1024,
      temperatureCelsius: 41,
      powerWatts: 118.52,
      loadedModels: [{ name: 'mlp', version: '1', provider: 'cuda' }],
      queueDepth: 3,
      requestsPerSecond: 120,
      rowsPerSecond: 960,
      latencyMs: { p50: 1.2, p95: 2.5, p99: 4.1 },
    });
    expect(heartbeat.devices).toHaveLength(2);
  });

  it('reports mps on Apple Silicon from ioreg, with temperature and power unknown', async () => {
    const sampler = new TelemetrySampler({
      runCommand: commands({ ioreg: fixture('ioreg-m4.txt') }),
      platform: 'darwin',
      arch: 'arm64',
    });

    const heartbeat = await sampler.sample();

    expect(heartbeat).toMatchObject({
      acceleratorKind: 'mps',
      deviceName: 'Apple M4',
      utilizationPercent: 30,
      memoryUsedBytes: 356089856,
      memoryTotalBytes: os.totalmem(),
      loadedModels: [],
      queueDepth: 0,
    });
    expect(heartbeat.temperatureCelsius).toBeUndefined();
    expect(heartbeat.powerWatts).toBeUndefined();
  });

  it('falls back to the CPU when neither nvidia-smi nor ioreg exists', async () => {
    const sampler = new TelemetrySampler({
      runCommand: missing,
      platform: 'darwin',
      arch: 'arm64',
    });

    const heartbeat = await sampler.sample();

    expect(heartbeat.acceleratorKind).toBe('cpu');
    expect(heartbeat.memoryTotalBytes).toBe(os.totalmem());
    expect(heartbeat.telemetryError).toBeUndefined();
  });

  it('keeps publishing when nvidia-smi stops answering after detection', async () => {
    let calls = 0;
    const sampler = new TelemetrySampler({
      runCommand: async (file, args, timeoutMs) => {
        calls += 1;
        if (calls === 1) {
          return fixture('nvidia-smi-h100x2.csv');
        }
        return missing(file, args, timeoutMs);
      },
      platform: 'linux',
      arch: 'x64',
    });

    const heartbeat = await sampler.sample();

    expect(heartbeat.acceleratorKind).toBe('cuda');
    expect(heartbeat.utilizationPercent).toBeUndefined();
    expect(heartbeat.telemetryError).toContain('ENOENT');
  });

  it('samples this machine with the real commands without throwing', async () => {
    const heartbeat = await new TelemetrySampler().sample();

    expect(['cuda', 'mps', 'cpu']).toContain(heartbeat.acceleratorKind);
    expect(heartbeat.devices.length).toBeGreaterThan(0);
  });
});
