import os from 'node:os';

/** Cumulative CPU times summed over all cores, in milliseconds. */
export interface CpuTimes {
  idle: number;
  total: number;
}

/** The host's CPU and memory readings. */
export interface CpuSample {
  name?: string;
  cores: number;
  /** Busy share of all cores since `previous`, or since boot without it. */
  utilizationPercent?: number;
  loadAverage1m: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  /** Pass back as `previous` on the next call to get the utilization between the two. */
  times: CpuTimes;
}

function cpuTimes(cpus: os.CpuInfo[]): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

/** Reads CPU utilization (from os.cpus() time deltas), load and memory from the OS. */
export function cpuTelemetry(previous?: CpuTimes): CpuSample {
  const cpus = os.cpus();
  const times = cpuTimes(cpus);
  const total = times.total - (previous?.total ?? 0);
  const idle = times.idle - (previous?.idle ?? 0);
  const totalMem = os.totalmem();
  return {
    name: cpus[0]?.model.trim() || undefined,
    cores: cpus.length,
    utilizationPercent:
      total > 0
        ? Math.min(100, Math.max(0, (100 * (total - idle)) / total))
        : undefined,
    loadAverage1m: os.loadavg()[0],
    memoryUsedBytes: totalMem - os.freemem(),
    memoryTotalBytes: totalMem,
    times,
  };
}
