import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import { GpuPool } from '@gekko/plugin-gekko-common';

/** Reads GPU pools from the gekko backend, as the catalog plugin (service-to-service auth). */
export class GekkoPoolClient {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly auth: AuthService,
  ) {}

  async listPools(): Promise<GpuPool[]> {
    const body = await this.get<{ items: GpuPool[] }>('/pools');
    return body.items;
  }

  /** The pool, or undefined when the gekko backend does not know it (any more). */
  async findPool(name: string): Promise<GpuPool | undefined> {
    try {
      return await this.get<GpuPool>(`/pools/${encodeURIComponent(name)}`);
    } catch (error) {
      if (error instanceof ResponseError && error.statusCode === 404) {
        return undefined;
      }
      throw error;
    }
  }

  private async get<T>(path: string): Promise<T> {
    const baseUrl = await this.discovery.getBaseUrl('gekko');
    const { token } = await this.auth.getPluginRequestToken({
      onBehalfOf: await this.auth.getOwnServiceCredentials(),
      targetPluginId: 'gekko',
    });
    const response = await fetch(`${baseUrl}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!response.ok) throw await ResponseError.fromResponse(response);
    return (await response.json()) as T;
  }
}
