import type { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  AuditPage,
  AuditVerifyResult,
  GpuCapacityList,
  GpuPool,
  GpuWorkerList,
  ModelVersionList,
  UtilizationHistory,
  UtilizationRange,
} from '@gekko/plugin-gekko-common';
import type { AuditRecordsQuery, GekkoApi } from './GekkoApi';

/**
 * Talks to the Gekko backend over HTTP, with the caller's Backstage token.
 *
 * @public
 */
export class GekkoClient implements GekkoApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async listPools(): Promise<GpuPool[]> {
    const { items } = await this.get<{ items: GpuPool[] }>('/pools');
    return items;
  }

  async getPool(name: string): Promise<GpuPool> {
    return this.get(`/pools/${encodeURIComponent(name)}`);
  }

  async getAuditRecords(query: AuditRecordsQuery = {}): Promise<AuditPage> {
    return this.get('/audit/records', query);
  }

  async verifyAuditChain(): Promise<AuditVerifyResult> {
    return this.get('/audit/verify');
  }

  async listGpuWorkers(pool?: string): Promise<GpuWorkerList> {
    return this.get('/gpu/workers', { pool });
  }

  async getGpuCapacity(): Promise<GpuCapacityList> {
    return this.get('/gpu/capacity');
  }

  async getUtilization(
    pool: string,
    range: UtilizationRange,
  ): Promise<UtilizationHistory> {
    return this.get('/gpu/utilization', { pool, range });
  }

  async listModelVersions(pool?: string): Promise<ModelVersionList> {
    return this.get('/inference/models', { pool });
  }

  /** GETs a path of the backend, with the query parameters that are set. */
  private async get<T>(
    path: string,
    query: Record<string, string | number | undefined> = {},
  ): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        params.set(key, String(value));
      }
    }
    const search = params.toString();
    const baseUrl = await this.discoveryApi.getBaseUrl('gekko');
    const response = await this.fetchApi.fetch(
      `${baseUrl}${path}${search ? `?${search}` : ''}`,
    );
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response.json();
  }
}
