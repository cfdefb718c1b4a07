import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { GekkoClient, GekkoRequestOptions } from '@gekko/plugin-gekko-common';

/**
 * The gekko backend as the actions reach it: its one client, and a token on behalf of the person
 * who started the task, so that permissions and the audit trail see them, not the scaffolder.
 */
export class GekkoAccess {
  readonly client: GekkoClient;

  constructor(discovery: DiscoveryService, private readonly auth: AuthService) {
    this.client = new GekkoClient({ discoveryApi: discovery });
  }

  /** Request options carrying a token for the gekko backend on behalf of `initiator`. */
  async as(initiator: BackstageCredentials): Promise<GekkoRequestOptions> {
    const { token } = await this.auth.getPluginRequestToken({
      onBehalfOf: initiator,
      targetPluginId: 'gekko',
    });
    return { token };
  }
}
