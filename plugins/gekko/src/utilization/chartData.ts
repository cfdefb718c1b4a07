import type {
  UtilizationHistory,
  UtilizationPoint,
} from '@gekko/plugin-gekko-common';

/** The readings of a utilization point that the charts draw. */
export type ChartedReading = keyof Pick<
  UtilizationPoint,
  'utilizationPercent' | 'requestsPerSecond' | 'p99Ms'
>;

/** One moment of a chart: each worker's reading at that step, by worker id. */
export interface ChartRow {
  t: number;
  values: Record<string, number>;
}

/**
 * The history of one reading as chart rows, one per step, oldest first. A worker without a point
 * at a step leaves a gap there rather than a line drawn across the time it was away.
 */
export function toChartRows(
  history: UtilizationHistory,
  reading: ChartedReading,
): ChartRow[] {
  const stepMs = Math.max(1, history.stepSeconds) * 1000;
  const rows = new Map<number, ChartRow>();
  for (const series of history.series) {
    for (const point of series.points) {
      const value = point[reading];
      if (value === undefined) {
        continue;
      }
      // Points are the start of their step; flooring keeps workers on the same row.
      const t = Math.floor(Date.parse(point.t) / stepMs) * stepMs;
      let row = rows.get(t);
      if (!row) {
        row = { t, values: {} };
        rows.set(t, row);
      }
      row.values[series.workerId] = value;
    }
  }
  return [...rows.values()].sort((a, b) => a.t - b.t);
}

/**
 * Ticks for a time axis every `stepMs`, on round times of the viewer's clock (every 3 minutes:
 * 09:00, 09:03, …), so that the labels read as times rather than as arbitrary instants.
 */
export function timeTicks(from: number, to: number, stepMs: number): number[] {
  const offsetMs = new Date(from).getTimezoneOffset() * 60_000;
  const ticks: number[] = [];
  for (
    let t = Math.ceil((from - offsetMs) / stepMs) * stepMs + offsetMs;
    t <= to;
    t += stepMs
  ) {
    ticks.push(t);
  }
  return ticks;
}

// Okabe–Ito: told apart with the common forms of colour blindness, on light and dark themes.
const workerColours = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#999999',
];

/**
 * A colour per worker of a history, the same for every chart of it. Workers connected now come
 * first, by id, so that each keeps its colour on the 15 minute and the 24 hour charts alike.
 */
export function coloursByWorker(
  history: UtilizationHistory,
  liveWorkerIds: ReadonlySet<string> = new Set(),
): Map<string, string> {
  const ids = [...new Set(history.series.map(s => s.workerId))].sort(
    (a, b) =>
      Number(liveWorkerIds.has(b)) - Number(liveWorkerIds.has(a)) ||
      a.localeCompare(b),
  );
  return new Map(
    ids.map((id, i) => [id, workerColours[i % workerColours.length]]),
  );
}
