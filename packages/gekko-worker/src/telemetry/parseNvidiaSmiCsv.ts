/** One GPU line of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`. */
export interface NvidiaGpuSample {
  index?: number;
  uuid?: string;
  name?: string;
  utilizationPercent?: number;
  memoryUtilizationPercent?: number;
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  temperatureCelsius?: number;
  powerWatts?: number;
  smClockMHz?: number;
}

/** The query fields, in the order {@link parseNvidiaSmiCsv} expects them. */
export const NVIDIA_SMI_QUERY_FIELDS = [
  'index',
  'uuid',
  'name',
  'utilization.gpu',
  'utilization.memory',
  'memory.used',
  'memory.total',
  'temperature.gpu',
  'power.draw',
  'clocks.sm',
] as const;

const MIB = 1024 * 1024;

/** `[N/A]`, `[Not Supported]`, `[Unknown Error]` and anything else non-numeric mean unknown. */
function numberOrUndefined(value: string | undefined): number | undefined {
  if (value === undefined || value === '' || value.startsWith('[')) {
    return undefined;
  }
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function textOrUndefined(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value.startsWith('[')
    ? undefined
    : value;
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,utilization.memory,
 * memory.used,memory.total,temperature.gpu,power.draw,clocks.sm --format=csv,noheader,nounits`,
 * one GPU per line. Memory is converted from MiB to bytes; unavailable values are undefined.
 */
export function parseNvidiaSmiCsv(output: string): NvidiaGpuSample[] {
  const gpus: NvidiaGpuSample[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (line.trim() === '') {
      continue;
    }
    const fields = line.split(',').map(field => field.trim());
    if (fields.length !== NVIDIA_SMI_QUERY_FIELDS.length) {
      continue;
    }
    const [
      index,
      uuid,
      name,
      utilization,
      memoryUtilization,
      memoryUsed,
      memoryTotal,
      temperature,
      power,
      smClock,
    ] = fields;
    const used = numberOrUndefined(memoryUsed);
    const total = numberOrUndefined(memoryTotal);
    gpus.push({
      index: numberOrUndefined(index),
      uuid: textOrUndefined(uuid),
      name: textOrUndefined(name),
      utilizationPercent: numberOrUndefined(utilization),
      memoryUtilizationPercent: numberOrUndefined(memoryUtilization),
      memoryUsedBytes: used === undefined ? undefined : used * MIB,
      memoryTotalBytes: total === undefined ? undefined : total * MIB,
      temperatureCelsius: numberOrUndefined(temperature),
      powerWatts: numberOrUndefined(power),
      smClockMHz: numberOrUndefined(smClock),
    });
  }
  return gpus;
}
