import type { GpuPool } from '@gekko/plugin-gekko-common';

/** A pool's configured capacity in words: `8 devices, 640 GiB memory`. */
export function formatPoolCapacity(capacity: GpuPool['capacity']): string {
  const { devices, memoryGiB } = capacity;
  return `${devices} ${
    devices === 1 ? 'device' : 'devices'
  }, ${memoryGiB} GiB memory`;
}
