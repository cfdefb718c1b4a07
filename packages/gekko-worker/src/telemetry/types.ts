import { LatencyPercentiles } from '../batching/LatencyWindow';
import { ExecutionProvider } from '../runtime/ModelHost';

/** The portal's accelerator kinds; `mps` means an Apple Silicon GPU, reached through CoreML. */
export type AcceleratorKind = 'cuda' | 'mps' | 'cpu';

/** One accelerator's readings; anything the source cannot tell is undefined, never 0. */
export interface AcceleratorSample {
  index?: number;
  uuid?: string;
  name?: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
}

/** A model version as the heartbeat lists it. */
export interface HeartbeatModel {
  name: string;
  version: string;
  provider: ExecutionProvider;
}

/** What a worker publishes every second. */
export interface WorkerHeartbeat {
  timestamp: string;
  acceleratorKind: AcceleratorKind;
  deviceName?: string;
  utilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
  /** Every device the source reported (several on a multi-GPU host). */
  devices: AcceleratorSample[];
  loadedModels: HeartbeatModel[];
  queueDepth: number;
  requestsPerSecond: number;
  rowsPerSecond: number;
  latencyMs: LatencyPercentiles;
  /** Why the accelerator readings are missing, when the source failed this time. */
  telemetryError?: string;
}
