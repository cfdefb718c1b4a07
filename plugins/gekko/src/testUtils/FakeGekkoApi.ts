import { ResponseError } from '@backstage/errors';
import type {
  AuditPage,
  AuditRecord,
  AuditVerifyResult,
  Deployment,
  GpuCapacityList,
  GpuPool,
  GpuPoolCapacity,
  GpuWorkerList,
  GpuWorkerStatus,
  ModelVersion,
  ModelVersionList,
  ServiceHealth,
  ServiceHealthSummary,
  SloSeries,
  SloSeriesQuery,
  UtilizationHistory,
  UtilizationRange,
} from '@gekko/plugin-gekko-common';
import type { AuditRecordsQuery, GekkoApi } from '../api/GekkoApi';

/** A backend error as the client raises it, from Backstage's standard error body. */
export function responseError(
  statusCode: number,
  name: string,
  message: string,
): Promise<ResponseError> {
  const body = { error: { name, message }, response: { statusCode } };
  return ResponseError.fromResponse(
    new Response(JSON.stringify(body), {
      status: statusCode,
      headers: { 'content-type': 'application/json' },
    }),
  );
}

/**
 * An in-memory Gekko backend: audit records newest first in pages of `pageSize`, with the same
 * cursor contract as the real one, a fixed set of pools, a fixed snapshot of the GPU manager
 * (workers, capacity, utilization history, model versions), deployments, and the trading health
 * of services (their health, SLO series and roll-up).
 */
export class FakeGekkoApi implements GekkoApi {
  readonly auditQueries: AuditRecordsQuery[] = [];

  constructor(
    private readonly options: {
      records?: AuditRecord[];
      pageSize?: number;
      verify?: AuditVerifyResult;
      pools?: GpuPool[];
      /** Makes every audit call fail with this error. */
      auditError?: Error;
      workers?: GpuWorkerStatus[];
      capacity?: GpuPoolCapacity[];
      /** The history each range answers with; an empty one when absent. */
      utilization?: Partial<Record<UtilizationRange, UtilizationHistory>>;
      modelVersions?: ModelVersion[];
      /** Makes every GPU and inference call fail with this error. */
      gpuError?: Error;
      deployments?: Deployment[];
      /** Each trading service's health, by its `entityRef`. */
      health?: ServiceHealth[];
      /** SLO series, answered by entity, SLO and range. */
      sloSeries?: SloSeries[];
      /** The roll-up of the trading services. */
      serviceSummaries?: ServiceHealthSummary[];
      /** Makes every trading-health call fail with this error. */
      healthError?: Error;
    } = {},
  ) {}

  /** The ids of the deployments rolled back through this API, in order. */
  readonly rollbacks: string[] = [];

  async listPools(): Promise<GpuPool[]> {
    return this.options.pools ?? [];
  }

  async getPool(name: string): Promise<GpuPool> {
    const pool = this.options.pools?.find(p => p.name === name);
    if (!pool) {
      throw await responseError(
        404,
        'NotFoundError',
        `No GPU pool named ${name}`,
      );
    }
    return pool;
  }

  async getAuditRecords(query: AuditRecordsQuery = {}): Promise<AuditPage> {
    this.auditQueries.push(query);
    if (this.options.auditError) {
      throw this.options.auditError;
    }
    const pageSize = this.options.pageSize ?? 50;
    // The cursor is the seq of the last record served, as a keyset cursor would be.
    const before = query.cursor ? Number(query.cursor) : Infinity;
    const older = (this.options.records ?? [])
      .filter(r => !query.entityRef || r.target === query.entityRef)
      .filter(r => !query.outcome || r.outcome === query.outcome)
      .filter(r => r.seq < before)
      .sort((a, b) => b.seq - a.seq);
    const items = older.slice(0, pageSize);
    return {
      items,
      ...(older.length > pageSize && {
        nextCursor: String(items[items.length - 1].seq),
      }),
    };
  }

  async verifyAuditChain(): Promise<AuditVerifyResult> {
    if (this.options.auditError) {
      throw this.options.auditError;
    }
    return (
      this.options.verify ?? {
        valid: true,
        checked: 0,
        headHash: null,
        firstBrokenSeq: null,
        reason: null,
      }
    );
  }

  async listGpuWorkers(pool?: string): Promise<GpuWorkerList> {
    this.failIfGpuDown();
    return {
      items: (this.options.workers ?? []).filter(w => !pool || w.pool === pool),
    };
  }

  async getGpuCapacity(): Promise<GpuCapacityList> {
    this.failIfGpuDown();
    return { items: this.options.capacity ?? [] };
  }

  async getUtilization(
    pool: string,
    range: UtilizationRange,
  ): Promise<UtilizationHistory> {
    this.failIfGpuDown();
    const history = this.options.utilization?.[range];
    if (history) {
      return {
        ...history,
        pool,
        series: history.series.filter(s => s.pool === pool),
      };
    }
    const to = new Date();
    const spanMs = range === '15m' ? 15 * 60_000 : 24 * 3600_000;
    return {
      pool,
      range,
      stepSeconds: range === '15m' ? 1 : 60,
      from: new Date(to.getTime() - spanMs).toISOString(),
      to: to.toISOString(),
      series: [],
    };
  }

  async listModelVersions(pool?: string): Promise<ModelVersionList> {
    this.failIfGpuDown();
    return {
      items: (this.options.modelVersions ?? []).filter(
        v => !pool || v.pools.includes(pool),
      ),
    };
  }

  async listDeployments(
    query: { entityRef?: string; limit?: number } = {},
  ): Promise<{ items: Deployment[] }> {
    return {
      items: (this.options.deployments ?? [])
        .filter(d => !query.entityRef || d.entityRef === query.entityRef)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, query.limit ?? 50)
        .map(({ events, ...listed }) => listed),
    };
  }

  async getDeployment(id: string): Promise<Deployment> {
    const deployment = this.options.deployments?.find(d => d.id === id);
    if (!deployment) {
      throw await responseError(404, 'NotFoundError', `No deployment ${id}`);
    }
    return deployment;
  }

  /** As the backend: only a succeeded deployment rolls back (409 otherwise); it starts rolling back. */
  async rollbackDeployment(id: string): Promise<Deployment> {
    const deployment = await this.getDeployment(id);
    if (
      deployment.state === 'rolling_back' ||
      deployment.state === 'rolled_back'
    ) {
      return deployment;
    }
    if (deployment.state !== 'succeeded') {
      throw await responseError(
        409,
        'ConflictError',
        `Deployment ${id} is ${deployment.state}: only a succeeded deployment can be rolled back`,
      );
    }
    this.rollbacks.push(id);
    return this.putDeployment({ ...deployment, state: 'rolling_back' });
  }

  /** Stores a deployment as the backend now has it (a new one, or the next state of one). */
  putDeployment(deployment: Deployment): Deployment {
    const others = (this.options.deployments ?? []).filter(
      d => d.id !== deployment.id,
    );
    this.options.deployments = [...others, deployment];
    return deployment;
  }

  /** The series asked for, in order. */
  readonly seriesQueries: SloSeriesQuery[] = [];

  async getServiceHealth(entityRef: string): Promise<ServiceHealth> {
    this.failIfHealthDown();
    const health = this.options.health?.find(h => h.entityRef === entityRef);
    if (!health) {
      throw await responseError(
        404,
        'NotFoundError',
        `${entityRef} is not a trading service the portal judges`,
      );
    }
    return health;
  }

  /** As the backend: a series of no data when the service was never scraped. */
  async getSloSeries(query: SloSeriesQuery): Promise<SloSeries> {
    this.seriesQueries.push(query);
    this.failIfHealthDown();
    const range = query.range ?? '1h';
    return (
      this.options.sloSeries?.find(
        s =>
          s.entityRef === query.entityRef &&
          s.slo === query.slo &&
          s.range === range,
      ) ?? {
        entityRef: query.entityRef,
        slo: query.slo,
        range,
        stepSeconds: 60,
        points: [],
      }
    );
  }

  async listServiceHealth(
    system?: string,
  ): Promise<{ items: ServiceHealthSummary[] }> {
    this.failIfHealthDown();
    return {
      items: (this.options.serviceSummaries ?? []).filter(
        s => !system || s.system === system,
      ),
    };
  }

  /** Stores a service's health as the backend now judges it. */
  putHealth(health: ServiceHealth) {
    this.options.health = [
      ...(this.options.health ?? []).filter(
        h => h.entityRef !== health.entityRef,
      ),
      health,
    ];
  }

  /** Makes the trading-health calls from now on fail with `error`, or succeed again without. */
  setHealthError(error: Error | undefined) {
    this.options.healthError = error;
  }

  private failIfHealthDown() {
    if (this.options.healthError) {
      throw this.options.healthError;
    }
  }

  /** Makes the GPU and inference calls from now on fail with `error`, or succeed again without. */
  setGpuError(error: Error | undefined) {
    this.options.gpuError = error;
  }

  private failIfGpuDown() {
    if (this.options.gpuError) {
      throw this.options.gpuError;
    }
  }
}
