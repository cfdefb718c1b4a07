import { createApiRef } from '@backstage/frontend-plugin-api';
import type {
  AuditPage,
  AuditRecordsQuery,
  AuditVerifyResult,
  Deployment,
  GpuCapacityList,
  GpuPool,
  GpuWorkerList,
  ModelVersionList,
  ServiceHealth,
  ServiceHealthSummary,
  SloSeries,
  SloSeriesQuery,
  UtilizationHistory,
  UtilizationRange,
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
  /** The live inference workers, of one pool or of all. */
  listGpuWorkers(pool?: string): Promise<GpuWorkerList>;
  /** Live capacity per pool; a pool that never had a worker may be absent. */
  getGpuCapacity(): Promise<GpuCapacityList>;
  /** Per-worker utilization series of a pool: the last 15 minutes live, or 24 hours from the database. */
  getUtilization(
    pool: string,
    range: UtilizationRange,
  ): Promise<UtilizationHistory>;
  /** Registered model versions, of the pools that serve them, with where they are loaded now. */
  listModelVersions(pool?: string): Promise<ModelVersionList>;
  /** Deployments, newest first, of one entity or of all. */
  listDeployments(query?: {
    entityRef?: string;
    limit?: number;
  }): Promise<{ items: Deployment[] }>;
  /** One deployment with its events (phases, steps, analyses with their evidence). */
  getDeployment(id: string): Promise<Deployment>;
  /** Rolls a succeeded deployment back to the snapshot of what it replaced. */
  rollbackDeployment(id: string): Promise<Deployment>;
  /**
   * A trading service judged now; rejects with a 404 `ResponseError` when the entity has no
   * `gekko.io/slos` annotation (or the backend has not read it yet).
   */
  getServiceHealth(entityRef: string): Promise<ServiceHealth>;
  /** One SLO's indicator over a range, for a chart. */
  getSloSeries(query: SloSeriesQuery): Promise<SloSeries>;
  /** The trading services with their states, of one System (its entity ref) or of all. */
  listServiceHealth(
    system?: string,
  ): Promise<{ items: ServiceHealthSummary[] }>;
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
