import { useApi } from '@backstage/frontend-plugin-api';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { usePolling } from '../hooks/usePolling';
import { HEALTH_REFRESH_MS } from './useServiceHealth';

/** The ranges the SLO charts draw. */
export type SloChartRange = '1h' | '1d';

/** Each range's step, refresh and time axis. */
export const SLO_CHART_RANGES: Record<
  SloChartRange,
  { label: string; step: string; refreshMs: number; tickMs: number }
> = {
  '1h': {
    label: 'Last hour',
    step: '1m',
    refreshMs: HEALTH_REFRESH_MS,
    tickMs: 15 * 60_000,
  },
  '1d': {
    label: 'Last day',
    step: '15m',
    refreshMs: 60_000,
    tickMs: 6 * 3600_000,
  },
};

/** One SLO's indicator over a range, read again while it is shown. */
export function useSloSeries(
  entityRef: string,
  slo: string,
  range: SloChartRange,
) {
  const gekkoApi = useApi(gekkoApiRef);
  const load = useCallback(
    () =>
      gekkoApi.getSloSeries({
        entityRef,
        slo,
        range,
        step: SLO_CHART_RANGES[range].step,
      }),
    [gekkoApi, entityRef, slo, range],
  );
  return usePolling(load, SLO_CHART_RANGES[range].refreshMs);
}
