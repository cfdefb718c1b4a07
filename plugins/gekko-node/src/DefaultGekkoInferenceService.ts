import { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import {
  BinaryPrediction,
  GekkoClient,
  PredictResponse,
} from '@gekko/plugin-gekko-common';
import type {
  GekkoInferenceService,
  InferenceCallOptions,
} from './GekkoInferenceService';

/**
 * The {@link GekkoInferenceService} over HTTP: the gekko backend's one client (from
 * `@gekko/plugin-gekko-common`), found through discovery, with a service token for the calling
 * plugin, or one on behalf of the caller whose credentials it is given.
 *
 * @public
 */
export class DefaultGekkoInferenceService implements GekkoInferenceService {
  private readonly client: GekkoClient;

  constructor(
    private readonly options: {
      discovery: DiscoveryService;
      auth: AuthService;
      fetch?: typeof fetch;
    },
  ) {
    this.client = new GekkoClient({
      discoveryApi: options.discovery,
      ...(options.fetch ? { fetchApi: { fetch: options.fetch } } : {}),
    });
  }

  async predict(
    model: string,
    rows: number[][],
    options: InferenceCallOptions = {},
  ): Promise<PredictResponse> {
    return this.client.predict(model, rows, await this.callOptions(options));
  }

  async predictBinary(
    model: string,
    rows: number,
    input: Float32Array,
    options: InferenceCallOptions = {},
  ): Promise<BinaryPrediction> {
    return this.client.predictBinary(
      model,
      rows,
      input,
      await this.callOptions(options),
    );
  }

  private async callOptions({ credentials, ...rest }: InferenceCallOptions) {
    const { auth } = this.options;
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: credentials ?? (await auth.getOwnServiceCredentials()),
      targetPluginId: 'gekko',
    });
    return { ...rest, token };
  }
}
