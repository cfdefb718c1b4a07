import { BURN_RATE_WINDOWS, BurnRateWindow } from '@gekko/plugin-gekko-common';

/**
 * The most urgent alert pair whose threshold a window's burn rate is over, if any: a window's
 * rate alone fires nothing, but over its pair's threshold it is half of what pages or tickets
 * (`6h` belongs to two pairs: 6h/30m at 6×, a page, and 3d/6h at 1×, a ticket).
 */
export function pairOverThreshold(
  window: string,
  rate: number | undefined,
): BurnRateWindow | undefined {
  if (rate === undefined) return undefined;
  // BURN_RATE_WINDOWS lists the page pairs first.
  return BURN_RATE_WINDOWS.find(
    pair =>
      (pair.short === window || pair.long === window) && rate > pair.burnRate,
  );
}

/** The pairs and their thresholds in words: "1h/5m 14.4× (page), …". */
export function describeBurnRatePairs(): string {
  return BURN_RATE_WINDOWS.map(
    pair => `${pair.long}/${pair.short} ${pair.burnRate}× (${pair.severity})`,
  ).join(', ');
}
