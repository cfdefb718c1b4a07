import { useApi } from '@backstage/frontend-plugin-api';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { usePolling } from '../hooks/usePolling';

/** How often trading health is read again: the backend's scrape interval. */
export const HEALTH_REFRESH_MS = 5_000;

/** The health of one trading service, read again every {@link HEALTH_REFRESH_MS}. */
export function useServiceHealth(entityRef: string) {
  const gekkoApi = useApi(gekkoApiRef);
  const load = useCallback(
    () => gekkoApi.getServiceHealth(entityRef),
    [gekkoApi, entityRef],
  );
  return usePolling(load, HEALTH_REFRESH_MS);
}
