import os from 'node:os';
import { cpuTelemetry } from './cpuTelemetry';

describe('cpuTelemetry', () => {
  it('reads cores, memory and a utilization between two samples from the OS', () => {
    const first = cpuTelemetry();
    let spin = 0;
    for (let i = 0; i < 2e6; i++) {
      spin += Math.sqrt(i);
    }
    const second = cpuTelemetry(first.times);

    expect(spin).toBeGreaterThan(0);
    expect(second.cores).toBe(os.cpus().length);
    expect(second.memoryTotalBytes).toBe(os.totalmem());
    expect(second.memoryUsedBytes).toBeGreaterThan(0);
    expect(second.memoryUsedBytes).toBeLessThanOrEqual(second.memoryTotalBytes);
    expect(first.utilizationPercent).toBeGreaterThanOrEqual(0);
    expect(first.utilizationPercent).toBeLessThanOrEqual(100);
    expect(second.times.total).toBeGreaterThanOrEqual(first.times.total);
  });
});
