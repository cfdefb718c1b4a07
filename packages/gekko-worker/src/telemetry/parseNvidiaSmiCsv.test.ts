import fs from 'node:fs';
import path from 'node:path';
import { parseNvidiaSmiCsv } from './parseNvidiaSmiCsv';

const fixture = (name: string) =>
  fs.readFileSync(path.join(__dirname, '__fixtures__', name), 'utf8');

const MIB = 1024 * 1024;

describe('parseNvidiaSmiCsv', () => {
  it('reads every GPU of a two-H100 host, with memory in bytes', () => {
    expect(parseNvidiaSmiCsv(fixture('nvidia-smi-h100x2.csv'))).toEqual([
      {
        index: 0,
        uuid: 'GPU-3f1c2a7e-5b9d-4c1e-8a2f-6d0b9e4c7a11',
        name: 'NVIDIA H100 80GB HBM3',
        utilizationPercent: 37,
        memoryUtilizationPercent: 12,
        memoryUsedBytes: 10240 * MIB,
        memoryTotalBytes: 81559 * MIB,
        temperatureCelsius: 41,
        powerWatts: 118.52,
        smClockMHz: 1980,
      },
      {
        index: 1,
        uuid: 'GPU-a84d09c3-1e6f-4b2a-9c57-03f8e2d61b94',
        name: 'NVIDIA H100 80GB HBM3',
        utilizationPercent: 0,
        memoryUtilizationPercent: 0,
        memoryUsedBytes: 0,
        memoryTotalBytes: 81559 * MIB,
        temperatureCelsius: 29,
        powerWatts: 69.87,
        smClockMHz: 345,
      },
    ]);
  });

  it('reads [N/A] and [Not Supported] as unknown, never as 0', () => {
    const [mig, t4] = parseNvidiaSmiCsv(fixture('nvidia-smi-mig.csv'));

    expect(mig.name).toBe('NVIDIA A100-SXM4-40GB');
    expect(mig.utilizationPercent).toBeUndefined();
    expect(mig.memoryUtilizationPercent).toBeUndefined();
    expect(mig.memoryUsedBytes).toBe(4863 * MIB);
    expect(mig.powerWatts).toBe(61.04);
    expect(t4.name).toBe('Tesla T4');
    expect(t4.utilizationPercent).toBe(3);
    expect(t4.powerWatts).toBeUndefined();
  });

  it('skips lines that are not in the queried layout', () => {
    expect(
      parseNvidiaSmiCsv(
        'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n\n',
      ),
    ).toEqual([]);
  });
});
