import { ResponseError } from '@backstage/errors';
import type {
  AuditPage,
  AuditRecord,
  AuditVerifyResult,
  GpuCapacityList,
  GpuPool,
  GpuPoolCapacity,
  GpuWorkerList,
  GpuWorkerStatus,
  ModelVersion,
  ModelVersionList,
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
 * cursor contract as the real one, a fixed set of pools, and a fixed snapshot of the GPU manager
 * (workers, capacity, utilization history, model versions).
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
    } = {},
  ) {}

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
