import { VersionTraffic } from './VersionTraffic';

describe('VersionTraffic', () => {
  it('answers the attempts of one version since a time, across the wrap of its ring', () => {
    let now = 0;
    const traffic = new VersionTraffic(4, () => now);
    for (const [at, latency, ok] of [
      [1, 10, true],
      [2, 20, true],
      [3, 30, false],
      [4, 40, true],
      [5, 50, true],
      [6, 60, false],
    ] as const) {
      now = at;
      traffic.record('nhits-price', '2', latency, ok);
    }
    now = 7;
    traffic.record('nhits-price', '1', 1, true);

    // The ring keeps the last 4 attempts (times 3 to 6).
    expect(traffic.since('nhits-price', '2', 0)).toEqual({
      latenciesMs: [40, 50],
      errors: 2,
      attempts: 4,
    });
    expect(traffic.since('nhits-price', '2', 5)).toEqual({
      latenciesMs: [50],
      errors: 1,
      attempts: 2,
    });
    expect(traffic.since('nhits-price', '2', 7)).toEqual({
      latenciesMs: [],
      errors: 0,
      attempts: 0,
    });
    expect(traffic.since('nhits-price', '1', 7).attempts).toBe(1);
    expect(traffic.since('nhits-price', '3', 0).attempts).toBe(0);
  });

  it('keeps attempts in time order when the clock steps back', () => {
    let now = 100;
    const traffic = new VersionTraffic(8, () => now);
    traffic.record('m', '1', 1, true);
    now = 90;
    traffic.record('m', '1', 2, true);

    expect(traffic.since('m', '1', 95).latenciesMs).toEqual([1, 2]);
  });
});
