import fs from 'node:fs';
import path from 'node:path';
import { parseIoregAccelerator } from './parseIoregAccelerator';

const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

describe('parseIoregAccelerator', () => {
  it('reads device utilization, not renderer utilization, from a busy GPU', () => {
    expect(parseIoregAccelerator(fixture('ioreg-busy.txt'))).toEqual({
      className: 'AGXAcceleratorG17X',
      model: undefined,
      gpuCoreCount: undefined,
      utilizationPercent: 99,
      memoryUsedBytes: 28367667200,
      memoryAllocatedBytes: 31368167424,
    });
  });

  it('reads the chip and core count wherever they sit in the entry', () => {
    expect(parseIoregAccelerator(fixture('ioreg-m4.txt'))).toEqual({
      className: 'AGXAcceleratorG16G',
      model: 'Apple M4',
      gpuCoreCount: 10,
      utilizationPercent: 30,
      memoryUsedBytes: 356089856,
      memoryAllocatedBytes: 2181693440,
    });
  });

  it('does not take "In use system memory (driver)" for the memory in use', () => {
    const sample = parseIoregAccelerator(
      '"PerformanceStatistics" = {"In use system memory (driver)"=5,"Device Utilization %"=7}',
    );

    expect(sample?.memoryUsedBytes).toBeUndefined();
    expect(sample?.utilizationPercent).toBe(7);
  });

  it('returns undefined when ioreg lists no accelerator', () => {
    expect(parseIoregAccelerator('')).toBeUndefined();
  });
});
