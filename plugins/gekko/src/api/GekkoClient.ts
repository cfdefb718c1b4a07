import type { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  AuditPage,
  AuditVerifyResult,
  GpuPool,
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
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        params.set(key, String(value));
      }
    }
    const search = params.toString();
    return this.get(`/audit/records${search ? `?${search}` : ''}`);
  }

  async verifyAuditChain(): Promise<AuditVerifyResult> {
    return this.get('/audit/verify');
  }

  private async get<T>(path: string): Promise<T> {
    const baseUrl = await this.discoveryApi.getBaseUrl('gekko');
    const response = await this.fetchApi.fetch(`${baseUrl}${path}`);
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return response.json();
  }
}
