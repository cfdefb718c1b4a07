import { createApiRef } from '@backstage/frontend-plugin-api';
import type {
  AuditPage,
  AuditRecordsQuery,
  AuditVerifyResult,
  GpuPool,
} from '@gekko/plugin-gekko-common';

export type { AuditRecordsQuery };

/**
 * The Gekko backend, as the portal's front end sees it.
 *
 * @public
 */
export interface GekkoApi {
  /** All GPU pools the backend knows. */
  listPools(): Promise<GpuPool[]>;
  /** One GPU pool by name; rejects with a 404 `ResponseError` when unknown. */
  getPool(name: string): Promise<GpuPool>;
  /** One page of audit records, newest first unless `order` says otherwise. */
  getAuditRecords(query?: AuditRecordsQuery): Promise<AuditPage>;
  /** Walks the audit hash chain and says whether it is intact. */
  verifyAuditChain(): Promise<AuditVerifyResult>;
}

/**
 * Reference to the {@link GekkoApi}.
 *
 * @public
 */
export const gekkoApiRef = createApiRef<GekkoApi>().with({
  id: 'plugin.gekko.api',
  pluginId: 'gekko',
});
