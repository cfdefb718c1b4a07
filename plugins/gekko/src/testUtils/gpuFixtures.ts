import type {
  GpuPoolCapacity,
  GpuWorkerStatus,
  ModelVersion,
  UtilizationHistory,
  UtilizationPoint,
} from '@gekko/plugin-gekko-common';

/** `nvidia-smi --query-gpu=memory.total` of an H100 80GB HBM3: 81559 MiB. */
const h100MemoryBytes = 81_559 * 1024 ** 2;
const gib = 1024 ** 3;

/** A NATS worker on a node with two H100s, every reading reported. */
export const h100Worker: GpuWorkerStatus = {
  id: '7f3a9c2e-5b1d-4e8a-9c0f-2d6b8e1a4c73',
  pool: 'h100-primary',
  transport: 'nats',
  host: 'gpu-node-a1',
  state: 'ready',
  acceleratorKind: 'cuda',
  deviceName: 'NVIDIA H100 80GB HBM3',
  registeredAt: '2025-11-20T08:02:11.000Z',
  lastHeartbeatAt: '2025-11-20T09:14:59.000Z',
  utilizationPercent: 87,
  memoryUsedBytes: 110 * gib,
  memoryTotalBytes: 2 * h100MemoryBytes,
  temperatureCelsius: 67,
  powerWatts: 744.6,
  devices: [
    {
      index: 0,
      uuid: 'GPU-5a1e0c0d-8a3f-2b6e-91f4-0c8d3e2a7b10',
      name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 91,
      memoryUsedBytes: 61.5 * gib,
      memoryTotalBytes: h100MemoryBytes,
      temperatureCelsius: 67,
      powerWatts: 402.3,
    },
    {
      index: 1,
      uuid: 'GPU-9b2f41c7-13d0-77a2-4e5c-a1f06b3d2c94',
      name: 'NVIDIA H100 80GB HBM3',
      utilizationPercent: 83,
      memoryUsedBytes: 48.5 * gib,
      memoryTotalBytes: h100MemoryBytes,
      temperatureCelsius: 61,
      powerWatts: 342.3,
    },
  ],
  queueDepth: 12,
  outstanding: 9,
  requestsPerSecond: 412.7,
  rowsPerSecond: 26_412.8,
  latencyMs: { p50: 3.1, p95: 7.8, p99: 11.4 },
  models: [
    { name: 'price-forecaster', version: '3', provider: 'cuda' },
    { name: 'price-forecaster', version: '4', provider: 'cuda' },
  ],
};

/**
 * The portal's embedded worker thread on a CPU: no temperature or power, and it missed its last
 * heartbeat.
 */
export const cpuWorker: GpuWorkerStatus = {
  id: 'c41d0b87-2e9a-4f63-b8d5-7a1c0e9f3b26',
  pool: 'h100-primary',
  transport: 'thread',
  host: 'portal-backend-0',
  state: 'suspect',
  acceleratorKind: 'cpu',
  deviceName: 'AMD EPYC 9354 32-Core Processor',
  registeredAt: '2025-11-20T08:00:03.000Z',
  lastHeartbeatAt: '2025-11-20T09:14:56.000Z',
  utilizationPercent: 38,
  memoryUsedBytes: 2.25 * gib,
  memoryTotalBytes: 64 * gib,
  devices: [],
  queueDepth: 0,
  outstanding: 1,
  requestsPerSecond: 3.2,
  rowsPerSecond: 204.8,
  latencyMs: { p50: 14.2 },
  models: [{ name: 'price-forecaster', version: '3', provider: 'cpu' }],
  telemetryError: 'nvidia-smi not found on PATH; reporting CPU load only',
};

/** `GET /gpu/capacity` for the pool of the two workers: sums over the ready one only. */
export const h100PoolCapacity: GpuPoolCapacity = {
  pool: 'h100-primary',
  workers: 2,
  readyWorkers: 1,
  devices: 2,
  memoryUsedBytes: h100Worker.memoryUsedBytes,
  memoryTotalBytes: h100Worker.memoryTotalBytes,
  utilizationPercent: 87,
  requestsPerSecond: 412.7,
  queueDepth: 12,
};

function points(
  to: Date,
  stepSeconds: number,
  readings: Array<Omit<UtilizationPoint, 't'>>,
): UtilizationPoint[] {
  return readings.map((reading, i) => ({
    t: new Date(
      to.getTime() - (readings.length - i) * stepSeconds * 1000,
    ).toISOString(),
    ...reading,
  }));
}

/**
 * A utilization history of the pool that ends at `to`: a few points of each worker, and on the
 * 24 hour range a worker that has left since.
 */
export function utilizationHistory(
  range: UtilizationHistory['range'],
  to: Date = new Date('2025-11-20T09:15:00.000Z'),
): UtilizationHistory {
  const stepSeconds = range === '15m' ? 1 : 60;
  const span = range === '15m' ? 15 * 60 : 24 * 3600;
  const series: UtilizationHistory['series'] = [
    {
      workerId: h100Worker.id,
      pool: 'h100-primary',
      acceleratorKind: 'cuda',
      points: points(to, stepSeconds, [
        { utilizationPercent: 84, requestsPerSecond: 398.1, p99Ms: 10.9 },
        { utilizationPercent: 86, requestsPerSecond: 405.4, p99Ms: 11.2 },
        { utilizationPercent: 87, requestsPerSecond: 412.7, p99Ms: 11.4 },
      ]),
    },
    {
      workerId: cpuWorker.id,
      pool: 'h100-primary',
      acceleratorKind: 'cpu',
      points: points(to, stepSeconds, [
        { utilizationPercent: 35, requestsPerSecond: 3.0 },
        { utilizationPercent: 41, requestsPerSecond: 3.4 },
        { utilizationPercent: 38, requestsPerSecond: 3.2 },
      ]),
    },
  ];
  if (range === '24h') {
    series.push({
      workerId: '0be5d6f1-88c2-4a07-9e3d-5f2a6c1b9d08',
      pool: 'h100-primary',
      acceleratorKind: 'cuda',
      points: points(new Date(to.getTime() - 6 * 3600_000), stepSeconds, [
        { utilizationPercent: 72, requestsPerSecond: 301.5, p99Ms: 13.0 },
        { utilizationPercent: 70, requestsPerSecond: 297.2, p99Ms: 12.6 },
      ]),
    });
  }
  return {
    pool: 'h100-primary',
    range,
    stepSeconds,
    from: new Date(to.getTime() - span * 1000).toISOString(),
    to: to.toISOString(),
    series,
  };
}

function modelVersion(
  version: string,
  overrides: Partial<ModelVersion>,
): ModelVersion {
  return {
    name: 'price-forecaster',
    version,
    artifact: `price-forecaster/${version}/model.onnx`,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    sizeBytes: 4_718_592,
    inputs: [{ name: 'history', shape: [-1, 96], dtype: 'float32' }],
    outputs: [{ name: 'forecast', shape: [-1, 12], dtype: 'float32' }],
    pools: ['h100-primary'],
    state: 'deployed',
    weight: 100,
    maxBatchSize: 64,
    maxQueueDelayMs: 1,
    createdAt: '2025-11-18T10:00:00.000Z',
    updatedAt: '2025-11-20T07:30:00.000Z',
    placements: [],
    ...overrides,
  };
}

/**
 * The registered model versions: price-forecaster 3 and 4 split its traffic with a canary on
 * another pool (300 : 100 : 100), 5 is registered only, and a classifier lives elsewhere.
 */
export const modelVersions: ModelVersion[] = [
  modelVersion('3', {
    weight: 300,
    maxBatchSize: 128,
    pools: ['h100-primary', 'm2-dev'],
    placements: [
      {
        name: 'price-forecaster',
        version: '3',
        provider: 'cuda',
        workerId: h100Worker.id,
        pool: 'h100-primary',
      },
      {
        name: 'price-forecaster',
        version: '3',
        provider: 'cpu',
        workerId: cpuWorker.id,
        pool: 'h100-primary',
      },
      {
        name: 'price-forecaster',
        version: '3',
        provider: 'coreml',
        workerId: 'm2-studio-01',
        pool: 'm2-dev',
      },
    ],
  }),
  modelVersion('4', {
    weight: 100,
    placements: [
      {
        name: 'price-forecaster',
        version: '4',
        provider: 'cuda',
        workerId: h100Worker.id,
        pool: 'h100-primary',
      },
    ],
  }),
  modelVersion('4-canary', { weight: 100, pools: ['m2-dev'] }),
  modelVersion('5', {
    state: 'registered',
    weight: 0,
    updatedAt: '2025-11-20T09:00:00.000Z',
  }),
  modelVersion('1', {
    name: 'spread-classifier',
    pools: ['m2-dev'],
  }),
];
