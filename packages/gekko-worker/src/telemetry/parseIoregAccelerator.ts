/** The Apple Silicon GPU as `ioreg -r -d 1 -c IOAccelerator` describes it. */
export interface IoregAcceleratorSample {
  /** The accelerator class, e.g. `AGXAcceleratorG17X`. */
  className?: string;
  /** The chip, e.g. `Apple M3 Pro`. */
  model?: string;
  gpuCoreCount?: number;
  /** `Device Utilization %`: the GPU's busy share (not the renderer's). */
  utilizationPercent?: number;
  /** `In use system memory`: bytes of unified memory the GPU uses now. */
  memoryUsedBytes?: number;
  /** `Alloc system memory`: bytes the driver has allocated. */
  memoryAllocatedBytes?: number;
}

function escape(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\%]/g, '\\$&');
}

/** A numeric `"key"=value` inside PerformanceStatistics; the closing quote keeps `(driver)` siblings apart. */
function statistic(block: string, name: string): number | undefined {
  const match = block.match(new RegExp(`"${escape(name)}"\\s*=\\s*(\\d+)`));
  return match ? Number(match[1]) : undefined;
}

/**
 * Parses the first accelerator of `ioreg -r -d 1 -c IOAccelerator` output. Keys may come
 * in any order and any may be missing; temperature and power are not in the IO registry.
 */
export function parseIoregAccelerator(
  output: string,
): IoregAcceleratorSample | undefined {
  const entries = output.split(/^\+-o /m).filter(e => e.trim() !== '');
  const entry =
    entries.find(e => e.includes('PerformanceStatistics')) ?? entries[0];
  if (!entry || !/PerformanceStatistics|"model"|gpu-core-count/.test(entry)) {
    return undefined;
  }
  const perf = entry.match(/"PerformanceStatistics"\s*=\s*\{([^}]*)\}/)?.[1];
  const model = entry.match(/"model"\s*=\s*"([^"]*)"/)?.[1];
  const cores = entry.match(/"gpu-core-count"\s*=\s*(\d+)/)?.[1];
  const className = entry.match(/<class (\w+)/)?.[1];
  return {
    className,
    model,
    gpuCoreCount: cores === undefined ? undefined : Number(cores),
    utilizationPercent: perf
      ? statistic(perf, 'Device Utilization %')
      : undefined,
    memoryUsedBytes: perf ? statistic(perf, 'In use system memory') : undefined,
    memoryAllocatedBytes: perf
      ? statistic(perf, 'Alloc system memory')
      : undefined,
  };
}
