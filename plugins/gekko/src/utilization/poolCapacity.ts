import type { GpuPoolCapacity } from '@gekko/plugin-gekko-common';
import {
  NOT_REPORTED,
  formatMemory,
  formatPercent,
  formatRequestRate,
} from './format';

/**
 * The live capacity of a pool; `GET /gpu/capacity` leaves out a pool that never had a worker, which
 * is a pool of none.
 */
export function capacityOfPool(
  items: GpuPoolCapacity[],
  pool: string,
): GpuPoolCapacity {
  return (
    items.find(item => item.pool === pool) ?? {
      pool,
      workers: 0,
      readyWorkers: 0,
      devices: 0,
      requestsPerSecond: 0,
      queueDepth: 0,
    }
  );
}

/** A pool's live capacity as label and value, in the order people read it. */
export function capacityFacts(
  capacity: GpuPoolCapacity,
): Array<[label: string, value: string]> {
  // With no ready worker there is nothing to measure; "not reported" would blame the telemetry.
  const unmeasured = capacity.readyWorkers === 0 ? '—' : NOT_REPORTED;
  return [
    ['Ready workers', `${capacity.readyWorkers} of ${capacity.workers}`],
    ['Devices', String(capacity.devices)],
    [
      'Memory',
      capacity.memoryUsedBytes === undefined
        ? unmeasured
        : formatMemory(capacity.memoryUsedBytes, capacity.memoryTotalBytes),
    ],
    [
      'Utilization',
      capacity.utilizationPercent === undefined
        ? unmeasured
        : formatPercent(capacity.utilizationPercent),
    ],
    ['Throughput', formatRequestRate(capacity.requestsPerSecond)],
    ['Queued requests', String(capacity.queueDepth)],
  ];
}
