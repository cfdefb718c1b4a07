import { useApi } from '@backstage/frontend-plugin-api';
import type { AuditOutcome, AuditRecord } from '@gekko/plugin-gekko-common';
import { useCallback, useEffect } from 'react';
import useAsyncFn from 'react-use/esm/useAsyncFn';
import { gekkoApiRef } from '../api/GekkoApi';

/**
 * The audit records of one entity, newest first, one server page at a time. `loadOlder` appends
 * the next page; changing the filter starts again from the newest record.
 */
export function useAuditRecords(entityRef: string, outcome?: AuditOutcome) {
  const gekkoApi = useApi(gekkoApiRef);
  // useAsyncFn keeps the rows already shown while the next page loads, and drops the answer of
  // a request that a newer one (a changed filter) has overtaken.
  const [{ value, loading, error }, load] = useAsyncFn(
    async (shown: AuditRecord[], cursor?: string) => {
      const page = await gekkoApi.getAuditRecords({
        entityRef,
        outcome,
        cursor,
      });
      return {
        records: [...shown, ...page.items],
        nextCursor: page.nextCursor,
      };
    },
    [gekkoApi, entityRef, outcome],
  );

  useEffect(() => {
    load([]);
  }, [load]);

  const loadOlder = useCallback(() => {
    if (value?.nextCursor) {
      load(value.records, value.nextCursor);
    }
  }, [load, value]);

  return {
    records: value?.records,
    hasOlder: Boolean(value?.nextCursor),
    loading,
    error,
    loadOlder,
  };
}
