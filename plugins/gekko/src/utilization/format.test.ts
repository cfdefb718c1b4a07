import {
  formatBytes,
  formatCelsius,
  formatLatency,
  formatMemory,
  formatPercent,
  formatProvider,
  formatWatts,
  shortWorkerId,
} from './format';

describe('format', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [81_559 * 1024 ** 2, '79.6 GiB'],
    [2 * 1024 ** 4, '2 TiB'],
  ])('writes %i bytes as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('writes memory as used / total, and says when it is not reported', () => {
    expect(formatMemory(48.5 * 1024 ** 3, 80 * 1024 ** 3)).toBe(
      '48.5 GiB / 80 GiB',
    );
    expect(formatMemory(2 * 1024 ** 3)).toBe('2 GiB');
    expect(formatMemory(undefined, 80 * 1024 ** 3)).toBe('not reported');
  });

  it('writes absent readings as not reported, never as 0', () => {
    expect(formatCelsius(undefined)).toBe('not reported');
    expect(formatWatts(undefined)).toBe('not reported');
    expect(formatCelsius(0)).toBe('0 °C');
    expect(formatWatts(402.34)).toBe('402.3 W');
  });

  it('writes a latency the worker has not measured as a dash', () => {
    expect(formatLatency(undefined)).toBe('—');
    expect(formatLatency(11.43)).toBe('11.4 ms');
  });

  it('rounds percentages', () => {
    expect(formatPercent(86.6)).toBe('87%');
  });

  it('names CoreML as MPS', () => {
    expect(formatProvider('coreml')).toBe('CoreML (MPS)');
    expect(formatProvider('cuda')).toBe('CUDA');
  });

  it('shortens UUID worker ids only', () => {
    expect(shortWorkerId('7f3a9c2e-5b1d-4e8a-9c0f-2d6b8e1a4c73')).toBe(
      '7f3a9c2e',
    );
    expect(shortWorkerId('m2-studio-01')).toBe('m2-studio-01');
    // Cut to 8 characters, the two embedded workers would both read `embedded`.
    expect(shortWorkerId('embedded-cpu-dr-1')).toBe('embedded-cpu-dr-1');
    expect(shortWorkerId('embedded-cpu-dr-2')).toBe('embedded-cpu-dr-2');
    expect(shortWorkerId('mac-studio-7-48213-9f3c2a')).toBe(
      'mac-studio-7-48213-9f3c2a',
    );
  });
});
