import type {
  WorkerModelPlacement,
  WorkerTransportKind,
} from '@gekko/plugin-gekko-common';

/** What a reading shows when the worker's telemetry cannot measure it; never a made-up 0. */
export const NOT_REPORTED = 'not reported';

const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** A number with at most one decimal, `1,234.5`. */
export function formatNumber(value: number): string {
  return oneDecimal.format(value);
}

/** A byte count in binary units: `79.6 GiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value)} ${byteUnits[unit]}`;
}

/** Memory in use out of the total, `61.5 GiB / 79.6 GiB`, or why it is not known. */
export function formatMemory(used?: number, total?: number): string {
  if (used === undefined) {
    return NOT_REPORTED;
  }
  return total === undefined
    ? formatBytes(used)
    : `${formatBytes(used)} / ${formatBytes(total)}`;
}

/** A percentage, whole: `87%`. */
export function formatPercent(value: number): string {
  return `${Math.round(value)}%`;
}

/** A temperature in degrees Celsius, or {@link NOT_REPORTED}. */
export function formatCelsius(value?: number): string {
  return value === undefined ? NOT_REPORTED : `${Math.round(value)} °C`;
}

/** A power draw in watts, or {@link NOT_REPORTED}. */
export function formatWatts(value?: number): string {
  return value === undefined ? NOT_REPORTED : `${formatNumber(value)} W`;
}

/** A request rate: `412.7 req/s`. */
export function formatRequestRate(value: number): string {
  return `${formatNumber(value)} req/s`;
}

/** A latency in milliseconds; `—` when the worker served nothing recently. */
export function formatLatency(ms?: number): string {
  return ms === undefined ? '—' : `${formatNumber(ms)} ms`;
}

const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const clockWithSeconds = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** A time of day in the viewer's time zone, `HH:mm`. */
export function formatClock(time: number | Date): string {
  return clock.format(time);
}

/** A time of day in the viewer's time zone, `HH:mm:ss`. */
export function formatClockWithSeconds(time: number | Date): string {
  return clockWithSeconds.format(time);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A worker id as people read it: a UUID cut to its first 8 hex digits (as git shortens hashes);
 * any other id whole, since ids such as `embedded-cpu-dr-1` and `embedded-cpu-dr-2`, or
 * `host-pid-random`, differ only after their first characters. `title` it with the full id.
 */
export function shortWorkerId(id: string): string {
  return UUID.test(id) ? id.slice(0, 8) : id;
}

const providerLabels: Record<WorkerModelPlacement['provider'], string> = {
  cuda: 'CUDA',
  coreml: 'CoreML (MPS)',
  cpu: 'CPU',
};

/** The onnxruntime execution provider a model runs on, as people say it. */
export function formatProvider(
  provider: WorkerModelPlacement['provider'],
): string {
  return providerLabels[provider];
}

const transportLabels: Record<WorkerTransportKind, string> = {
  thread: 'Embedded (worker thread)',
  'in-process': 'Embedded (backend event loop)',
  nats: 'NATS',
};

/** How a worker reaches the portal's backend. */
export function formatTransport(transport: WorkerTransportKind): string {
  return transportLabels[transport];
}
