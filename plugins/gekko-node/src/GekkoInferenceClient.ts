import {
  AuthService,
  BackstageCredentials,
  DiscoveryService,
} from '@backstage/backend-plugin-api';
import { ResponseError } from '@backstage/errors';
import type { PredictResponse } from '@gekko/plugin-gekko-common';

/** Options of one prediction. @public */
export interface PredictOptions {
  /** A specific version; otherwise the gateway draws one by traffic weight. */
  version?: string;
  /** How long the gateway may take, failovers included; defaults to the backend's (10 s). */
  deadlineMs?: number;
  /**
   * Whose request this is: pass the incoming request's credentials to act on a user's behalf;
   * defaults to this plugin's own service identity.
   */
  credentials?: BackstageCredentials;
}

/** A binary prediction's outputs: float32 tensors with their shapes, and who served them. @public */
export interface BinaryPrediction {
  model: string;
  version: string;
  worker: string;
  provider: string;
  outputs: Record<string, { shape: number[]; data: Float32Array }>;
}

/**
 * A typed client of the Gekko inference gateway for other backend plugins: finds the gekko backend
 * through discovery and authenticates with a service token (or on behalf of a caller), as Backstage
 * plugins call each other.
 *
 * @public
 */
export class GekkoInferenceClient {
  constructor(
    private readonly options: {
      discovery: DiscoveryService;
      auth: AuthService;
      fetch?: typeof fetch;
    },
  ) {}

  /** Runs rows of features through a model; answers JSON outputs with who served them. */
  async predict(
    model: string,
    rows: number[][],
    options: PredictOptions = {},
  ): Promise<PredictResponse> {
    const res = await this.post(model, options, {
      'content-type': 'application/json',
      body: JSON.stringify({
        inputs: rows,
        ...(options.version ? { version: options.version } : {}),
        ...(options.deadlineMs ? { deadlineMs: options.deadlineMs } : {}),
      }),
    });
    return (await res.json()) as PredictResponse;
  }

  /**
   * Runs `rows` rows of float32 features (row after row in `input`) through a model in the binary
   * format: no JSON on either side, for high request rates.
   */
  async predictBinary(
    model: string,
    rows: number,
    input: Float32Array,
    options: PredictOptions = {},
  ): Promise<BinaryPrediction> {
    if (rows < 1 || input.length % rows !== 0) {
      throw new TypeError(
        `input has ${input.length} values, which is not ${rows} equal rows`,
      );
    }
    const res = await this.post(model, options, {
      'content-type': 'application/octet-stream',
      accept: 'application/octet-stream',
      'x-gekko-shape': `${rows},${input.length / rows}`,
      ...(options.version ? { 'x-gekko-version': options.version } : {}),
      ...(options.deadlineMs
        ? { 'x-gekko-deadline-ms': String(options.deadlineMs) }
        : {}),
      body: new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
    });
    const described = JSON.parse(
      res.headers.get('x-gekko-outputs') ?? '[]',
    ) as Array<{ name: string; shape: number[] }>;
    const bytes = new Uint8Array(await res.arrayBuffer());
    const all = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(all.buffer).set(bytes);
    const outputs: BinaryPrediction['outputs'] = {};
    let offset = 0;
    for (const { name, shape } of described) {
      const size = shape.reduce((a, b) => a * b, 1);
      outputs[name] = { shape, data: all.subarray(offset, offset + size) };
      offset += size;
    }
    const [modelName, version] = (
      res.headers.get('x-gekko-model') ?? '@'
    ).split('@');
    return {
      model: modelName,
      version,
      worker: res.headers.get('x-gekko-worker') ?? '',
      provider: res.headers.get('x-gekko-provider') ?? '',
      outputs,
    };
  }

  private async post(
    model: string,
    options: PredictOptions,
    request: Record<string, string | Uint8Array> & {
      body: string | Uint8Array;
    },
  ): Promise<Response> {
    const { body, ...headers } = request;
    const baseUrl = await this.options.discovery.getBaseUrl('gekko');
    const { token } = await this.options.auth.getPluginRequestToken({
      onBehalfOf:
        options.credentials ??
        (await this.options.auth.getOwnServiceCredentials()),
      targetPluginId: 'gekko',
    });
    const res = await (this.options.fetch ?? fetch)(
      `${baseUrl}/inference/models/${encodeURIComponent(model)}/predict`,
      {
        method: 'POST',
        headers: {
          ...(headers as Record<string, string>),
          authorization: `Bearer ${token}`,
        },
        body,
      },
    );
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return res;
  }
}
