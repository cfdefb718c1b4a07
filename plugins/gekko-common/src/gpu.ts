import type { Accelerator } from './pools';

/** Latency percentiles in milliseconds; absent while a worker has served nothing recently. @public */
export interface LatencyPercentilesMs {
  p50?: number;
  p95?: number;
  p99?: number;
}

/** One accelerator device of a worker; a reading the source cannot give is absent, never 0. @public */
export interface GpuDeviceStatus {
  index?: number;
  uuid?: string;
  name?: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
}

/** A model version loaded on a worker, and the execution provider onnxruntime really used. @public */
export interface WorkerModelPlacement {
  name: string;
  version: string;
  /** `cuda`, `coreml` (Apple Silicon, shown as MPS) or `cpu`. */
  provider: 'cuda' | 'coreml' | 'cpu';
}

/** How a worker reaches the control plane. @public */
export type WorkerTransportKind = 'thread' | 'in-process' | 'nats';

/**
 * A worker as the GPU manager sees it right now.
 * `ready`: heartbeating; `suspect`: missed a heartbeat; lost workers are dropped from the list.
 * @public
 */
export interface GpuWorkerStatus {
  id: string;
  pool: string;
  transport: WorkerTransportKind;
  host: string;
  state: 'ready' | 'suspect';
  acceleratorKind: Accelerator;
  deviceName?: string;
  registeredAt: string;
  lastHeartbeatAt: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
  devices: GpuDeviceStatus[];
  /** Requests queued in the worker's batchers at the last heartbeat. */
  queueDepth: number;
  /** Requests the gateway has sent to this worker and not yet had answered. */
  outstanding: number;
  requestsPerSecond: number;
  rowsPerSecond: number;
  latencyMs: LatencyPercentilesMs;
  models: WorkerModelPlacement[];
  telemetryError?: string;
}

/** `GET /gpu/workers`. @public */
export interface GpuWorkerList {
  items: GpuWorkerStatus[];
}

/** A pool's live capacity, summed over its ready workers. @public */
export interface GpuPoolCapacity {
  pool: string;
  workers: number;
  readyWorkers: number;
  devices: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  /** Mean utilization of the devices that report one. */
  utilizationPercent?: number;
  requestsPerSecond: number;
  queueDepth: number;
}

/** `GET /gpu/capacity`. @public */
export interface GpuCapacityList {
  items: GpuPoolCapacity[];
}

/** The ranges the utilization history serves. @public */
export const UTILIZATION_RANGES = ['15m', '24h'] as const;

/** A utilization range: the live 15 minutes (1 s points) or 24 hours (1 min points, from the database). @public */
export type UtilizationRange = (typeof UTILIZATION_RANGES)[number];

/** One point of a worker's utilization series; averages over the step. @public */
export interface UtilizationPoint {
  /** Start of the step, ISO 8601. */
  t: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
  requestsPerSecond?: number;
  queueDepth?: number;
  /** Highest p99 seen in the step. */
  p99Ms?: number;
}

/** `GET /gpu/utilization?pool=&range=`: a series per worker (including workers lost since). @public */
export interface UtilizationHistory {
  pool?: string;
  range: UtilizationRange;
  stepSeconds: number;
  from: string;
  to: string;
  series: Array<{
    workerId: string;
    pool: string;
    acceleratorKind: Accelerator;
    points: UtilizationPoint[];
  }>;
}
