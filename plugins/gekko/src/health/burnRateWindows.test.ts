import { SLO_WINDOWS } from '@gekko/plugin-gekko-common';
import { pairOverThreshold } from './burnRateWindows';

describe('burn-rate windows', () => {
  it('lists the windows of the alert pairs, shortest first', () => {
    expect(SLO_WINDOWS).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
  });

  it.each([
    ['5m', 14.5, '1h/5m'],
    ['1h', 14.4, undefined],
    ['30m', 6.1, '6h/30m'],
    ['6h', 8.8, '6h/30m'],
    ['6h', 1.5, '3d/6h'],
    ['2h', 3.5, '1d/2h'],
    ['1d', 2.9, undefined],
    ['3d', 1.01, '3d/6h'],
    ['3d', undefined, undefined],
  ])(
    'a %s burn rate of %s is over the threshold of pair %s',
    (window, rate, pair) => {
      const over = pairOverThreshold(window, rate);
      expect(over && `${over.long}/${over.short}`).toBe(pair);
    },
  );
});
