import { useApi } from '@backstage/frontend-plugin-api';
import type {
  GpuPoolCapacity,
  GpuWorkerStatus,
} from '@gekko/plugin-gekko-common';
import { useCallback } from 'react';
import { gekkoApiRef } from '../api/GekkoApi';
import { usePolling } from '../hooks/usePolling';
import { capacityOfPool } from './poolCapacity';

/** How often the live views of a pool ask the backend again. */
export const LIVE_REFRESH_MS = 5_000;

/** A pool as the GPU manager sees it now. */
export interface LivePool {
  /** Its workers, by host and id, so the cards keep their places between refreshes. */
  workers: GpuWorkerStatus[];
  capacity: GpuPoolCapacity;
}

/** The workers and the capacity of one pool, refreshed every {@link LIVE_REFRESH_MS}. */
export function useLivePool(pool: string) {
  const gekkoApi = useApi(gekkoApiRef);
  const load = useCallback(async (): Promise<LivePool> => {
    const [workers, capacity] = await Promise.all([
      gekkoApi.listGpuWorkers(pool),
      gekkoApi.getGpuCapacity(),
    ]);
    return {
      workers: [...workers.items].sort(
        (a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id),
      ),
      capacity: capacityOfPool(capacity.items, pool),
    };
  }, [gekkoApi, pool]);
  return usePolling(load, LIVE_REFRESH_MS);
}
