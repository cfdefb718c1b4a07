import type { UtilizationHistory } from '@gekko/plugin-gekko-common';
import { coloursByWorker, timeTicks, toChartRows } from './chartData';

function history(
  workers: UtilizationHistory['series'],
  stepSeconds = 60,
): UtilizationHistory {
  return {
    range: '24h',
    stepSeconds,
    from: '2025-11-19T09:15:00.000Z',
    to: '2025-11-20T09:15:00.000Z',
    series: workers,
  };
}

function series(
  workerId: string,
  points: UtilizationHistory['series'][number]['points'],
) {
  return {
    workerId,
    pool: 'h100-primary',
    acceleratorKind: 'cuda' as const,
    points,
  };
}

describe('toChartRows', () => {
  it("puts the workers' readings of one step on one row, oldest first", () => {
    const rows = toChartRows(
      history([
        series('a', [
          { t: '2025-11-20T09:01:00.000Z', utilizationPercent: 80 },
          { t: '2025-11-20T09:00:00.000Z', utilizationPercent: 70 },
        ]),
        series('b', [
          { t: '2025-11-20T09:01:00.000Z', utilizationPercent: 10 },
        ]),
      ]),
      'utilizationPercent',
    );

    expect(rows).toEqual([
      { t: Date.parse('2025-11-20T09:00:00.000Z'), values: { a: 70 } },
      { t: Date.parse('2025-11-20T09:01:00.000Z'), values: { a: 80, b: 10 } },
    ]);
  });

  it('leaves out points that lack the reading, rather than drawing them as 0', () => {
    const rows = toChartRows(
      history([
        series('a', [
          { t: '2025-11-20T09:00:00.000Z', utilizationPercent: 70 },
          { t: '2025-11-20T09:01:00.000Z', utilizationPercent: 75, p99Ms: 12 },
        ]),
      ]),
      'p99Ms',
    );

    expect(rows).toEqual([
      { t: Date.parse('2025-11-20T09:01:00.000Z'), values: { a: 12 } },
    ]);
  });

  it('puts points that are off the step boundary on the row of their step', () => {
    const rows = toChartRows(
      history(
        [
          series('a', [
            { t: '2025-11-20T09:00:00.400Z', requestsPerSecond: 5 },
          ]),
          series('b', [
            { t: '2025-11-20T09:00:00.000Z', requestsPerSecond: 7 },
          ]),
        ],
        1,
      ),
      'requestsPerSecond',
    );

    expect(rows).toEqual([
      { t: Date.parse('2025-11-20T09:00:00.000Z'), values: { a: 5, b: 7 } },
    ]);
  });
});

describe('timeTicks', () => {
  it('ticks on round times of the clock within the range', () => {
    const from = Date.parse('2025-11-20T09:00:20.000Z');
    const to = Date.parse('2025-11-20T09:15:20.000Z');

    const ticks = timeTicks(from, to, 3 * 60_000);

    expect(ticks).toHaveLength(5);
    expect(ticks[0]).toBeGreaterThanOrEqual(from);
    expect(ticks[4]).toBeLessThanOrEqual(to);
    for (const tick of ticks) {
      expect(new Date(tick).getMinutes() % 3).toBe(0);
      expect(new Date(tick).getSeconds()).toBe(0);
    }
  });
});

describe('coloursByWorker', () => {
  it('gives each worker its own colour, in the order of their ids', () => {
    const colours = coloursByWorker(
      history([series('b', []), series('a', []), series('c', [])]),
    );

    expect([...colours.keys()]).toEqual(['a', 'b', 'c']);
    expect(new Set(colours.values()).size).toBe(3);
  });

  it('colours the connected workers first, so that a departed one does not shift them', () => {
    const connected = new Set(['b', 'c']);
    const lastQuarter = coloursByWorker(
      history([series('b', []), series('c', [])]),
      connected,
    );
    const lastDay = coloursByWorker(
      history([series('a', []), series('b', []), series('c', [])]),
      connected,
    );

    expect(lastDay.get('b')).toBe(lastQuarter.get('b'));
    expect(lastDay.get('c')).toBe(lastQuarter.get('c'));
    expect([...lastDay.keys()]).toEqual(['b', 'c', 'a']);
  });
});
