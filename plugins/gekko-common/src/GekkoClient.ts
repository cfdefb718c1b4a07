import { ResponseError } from '@backstage/errors';
import type {
  AppendAuditEventRequest,
  AuditPage,
  AuditRecord,
  AuditRecordsQuery,
  AuditVerifyResult,
} from './audit';
import type {
  CreateDeploymentRequest,
  Deployment,
  DeploymentDryRun,
  DeploymentTargetList,
} from './deployments';
import type {
  GpuCapacityList,
  GpuWorkerList,
  GpuWorkerStatus,
  UtilizationHistory,
  UtilizationRange,
} from './gpu';
import type {
  ModelVersion,
  ModelVersionList,
  PredictResponse,
  RegisterModelVersion,
} from './inference';
import type {
  CreateGpuPoolRequest,
  GpuPool,
  UpdateGpuPoolRequest,
} from './pools';
import type {
  ServiceHealth,
  ServiceHealthSummary,
  SloSeries,
  SloSeriesQuery,
  TradingAlert,
} from './trading';

/**
 * How a {@link GekkoClient} reaches the backend: the same shape as the clients Backstage generates
 * from OpenAPI, so the front end passes its `discoveryApi` and `fetchApi`, and a backend plugin its
 * `DiscoveryService` (and a token per call).
 *
 * @public
 */
export interface GekkoClientOptions {
  discoveryApi: { getBaseUrl(pluginId: string): Promise<string> };
  /** Defaults to the global `fetch`; the front end passes its `fetchApi`, which adds the user's token. */
  fetchApi?: { fetch: typeof fetch };
}

/** Per-call options: a backend caller passes the token to send (a service or on-behalf-of token). @public */
export interface GekkoRequestOptions {
  token?: string;
}

/** Options of one prediction. @public */
export interface PredictOptions extends GekkoRequestOptions {
  /** A specific version; otherwise the gateway draws one by traffic weight. */
  version?: string;
  /** How long the gateway may take, failovers included; defaults to the backend's (10 s). */
  deadlineMs?: number;
}

/** A binary prediction's outputs: float32 tensors with their shapes, and who served them. @public */
export interface BinaryPrediction {
  model: string;
  version: string;
  worker: string;
  provider: string;
  outputs: Record<string, { shape: number[]; data: Float32Array }>;
}

type Query = Record<string, string | number | undefined>;

/**
 * The one client of the gekko backend's REST API (`/api/gekko`, described in the backend's
 * `openapi.yaml`), for the front end, the catalog module and other backend plugins alike. Errors are
 * `ResponseError`s carrying the backend's error body.
 *
 * @public
 */
export class GekkoClient {
  constructor(private readonly options: GekkoClientOptions) {}

  /** All GPU pools the backend knows. */
  async listPools(options?: GekkoRequestOptions): Promise<GpuPool[]> {
    const body = await this.json<{ items: GpuPool[] }>('GET', '/pools', {
      options,
    });
    return body.items;
  }

  /** One GPU pool; rejects with a 404 `ResponseError` when unknown. */
  getPool(name: string, options?: GekkoRequestOptions): Promise<GpuPool> {
    return this.json('GET', `/pools/${encodeURIComponent(name)}`, { options });
  }

  /** One GPU pool, or undefined when the backend does not know it (any more). */
  async findPool(
    name: string,
    options?: GekkoRequestOptions,
  ): Promise<GpuPool | undefined> {
    try {
      return await this.getPool(name, options);
    } catch (error) {
      if (error instanceof ResponseError && error.statusCode === 404) {
        return undefined;
      }
      throw error;
    }
  }

  createPool(
    pool: CreateGpuPoolRequest,
    options?: GekkoRequestOptions,
  ): Promise<GpuPool> {
    return this.json('POST', '/pools', { body: pool, options });
  }

  updatePool(
    name: string,
    change: UpdateGpuPoolRequest,
    options?: GekkoRequestOptions,
  ): Promise<GpuPool> {
    return this.json('PATCH', `/pools/${encodeURIComponent(name)}`, {
      body: change,
      options,
    });
  }

  async deletePool(name: string, options?: GekkoRequestOptions): Promise<void> {
    await this.request('DELETE', `/pools/${encodeURIComponent(name)}`, {
      options,
    });
  }

  /** One page of audit records, newest first unless `order` says otherwise. */
  getAuditRecords(
    query: AuditRecordsQuery = {},
    options?: GekkoRequestOptions,
  ): Promise<AuditPage> {
    return this.json('GET', '/audit/records', { query, options });
  }

  /** Walks the audit hash chain and says whether it is intact. */
  verifyAuditChain(options?: GekkoRequestOptions): Promise<AuditVerifyResult> {
    return this.json('GET', '/audit/verify', { options });
  }

  /** Appends an event reported by another system (CI, a deploy tool) as the caller. */
  appendAuditEvent(
    event: AppendAuditEventRequest,
    options?: GekkoRequestOptions,
  ): Promise<AuditRecord> {
    return this.json('POST', '/audit/events', { body: event, options });
  }

  /** The live inference workers, of one pool or of all. */
  listGpuWorkers(
    pool?: string,
    options?: GekkoRequestOptions,
  ): Promise<GpuWorkerList> {
    return this.json('GET', '/gpu/workers', { query: { pool }, options });
  }

  getGpuWorker(
    id: string,
    options?: GekkoRequestOptions,
  ): Promise<GpuWorkerStatus> {
    return this.json('GET', `/gpu/workers/${encodeURIComponent(id)}`, {
      options,
    });
  }

  /** Live capacity per pool; a pool that never had a worker may be absent. */
  getGpuCapacity(options?: GekkoRequestOptions): Promise<GpuCapacityList> {
    return this.json('GET', '/gpu/capacity', { options });
  }

  /** Per-worker utilization series of a pool: 15 minutes live, or 24 hours from the database. */
  getUtilization(
    pool: string,
    range: UtilizationRange,
    options?: GekkoRequestOptions,
  ): Promise<UtilizationHistory> {
    return this.json('GET', '/gpu/utilization', {
      query: { pool, range },
      options,
    });
  }

  /** Registered model versions, of the pools that serve them, with where they are loaded now. */
  listModelVersions(
    pool?: string,
    options?: GekkoRequestOptions,
  ): Promise<ModelVersionList> {
    return this.json('GET', '/inference/models', { query: { pool }, options });
  }

  registerModelVersion(
    version: RegisterModelVersion,
    options?: GekkoRequestOptions,
  ): Promise<ModelVersion> {
    return this.json('POST', '/inference/models', { body: version, options });
  }

  /** Deploys a version with a traffic weight (and optionally other pools). */
  deployModelVersion(
    name: string,
    version: string,
    deployment: { weight: number; pools?: string[] },
    options?: GekkoRequestOptions,
  ): Promise<ModelVersion & { loadErrors?: unknown[] }> {
    return this.json('PUT', this.versionPath(name, version, '/deployment'), {
      body: deployment,
      options,
    });
  }

  undeployModelVersion(
    name: string,
    version: string,
    options?: GekkoRequestOptions,
  ): Promise<ModelVersion> {
    return this.json('DELETE', this.versionPath(name, version, '/deployment'), {
      options,
    });
  }

  /** Splits a model's traffic between its deployed versions, e.g. `{ "1": 90, "2": 10 }`. */
  setModelTraffic(
    name: string,
    weights: Record<string, number>,
    options?: GekkoRequestOptions,
  ): Promise<ModelVersionList> {
    return this.json(
      'PUT',
      `/inference/models/${encodeURIComponent(name)}/traffic`,
      { body: { weights }, options },
    );
  }

  /** The deployment targets backend modules registered. */
  listDeploymentTargets(
    options?: GekkoRequestOptions,
  ): Promise<DeploymentTargetList> {
    return this.json('GET', '/deployments/targets', { options });
  }

  /** Starts a validated deployment; answers it as stored (state `pending`). */
  createDeployment(
    deployment: Omit<CreateDeploymentRequest, 'dryRun'>,
    options?: GekkoRequestOptions,
  ): Promise<Deployment> {
    return this.json('POST', '/deployments', {
      body: { ...deployment, dryRun: false },
      options,
    });
  }

  /** Validates and plans a deployment without changing anything. */
  dryRunDeployment(
    deployment: Omit<CreateDeploymentRequest, 'dryRun'>,
    options?: GekkoRequestOptions,
  ): Promise<DeploymentDryRun> {
    return this.json('POST', '/deployments', {
      body: { ...deployment, dryRun: true },
      options,
    });
  }

  /** One deployment, with its events. */
  getDeployment(
    id: string,
    options?: GekkoRequestOptions,
  ): Promise<Deployment> {
    return this.json('GET', `/deployments/${encodeURIComponent(id)}`, {
      options,
    });
  }

  /** Deployments, newest first, of one entity or of all. */
  listDeployments(
    query: { entityRef?: string; limit?: number } = {},
    options?: GekkoRequestOptions,
  ): Promise<{ items: Deployment[] }> {
    return this.json('GET', '/deployments', { query, options });
  }

  /** Rolls a succeeded deployment back to what it replaced. */
  rollbackDeployment(
    id: string,
    options?: GekkoRequestOptions,
  ): Promise<Deployment> {
    return this.json(
      'POST',
      `/deployments/${encodeURIComponent(id)}/rollback`,
      { options },
    );
  }

  /**
   * One trading service judged now: its SLOs, venues, business metrics, alerts and what went wrong
   * reading its figures; rejects with a 404 `ResponseError` when the entity has no `gekko.io/slos`.
   */
  getServiceHealth(
    entityRef: string,
    options?: GekkoRequestOptions,
  ): Promise<ServiceHealth> {
    return this.json('GET', '/health', { query: { entityRef }, options });
  }

  /** One SLO's indicator over a range, for a chart. */
  getSloSeries(
    query: SloSeriesQuery,
    options?: GekkoRequestOptions,
  ): Promise<SloSeries> {
    return this.json('GET', '/health/series', { query: { ...query }, options });
  }

  /** The trading services with their overall and per-SLO states, of one System or of all. */
  listServiceHealth(
    system?: string,
    options?: GekkoRequestOptions,
  ): Promise<{ items: ServiceHealthSummary[] }> {
    return this.json('GET', '/health/services', { query: { system }, options });
  }

  /** Alerts pending or firing now, then those that fired before, newest first; of one entity or all. */
  listTradingAlerts(
    query: { entityRef?: string; limit?: number } = {},
    options?: GekkoRequestOptions,
  ): Promise<{ items: TradingAlert[] }> {
    return this.json('GET', '/health/alerts', { query, options });
  }

  /** Runs rows of features through a model; answers JSON outputs with who served them. */
  predict(
    model: string,
    rows: number[][],
    options: PredictOptions = {},
  ): Promise<PredictResponse> {
    const { version, deadlineMs } = options;
    return this.json('POST', this.predictPath(model), {
      body: {
        inputs: rows,
        ...(version ? { version } : {}),
        ...(deadlineMs ? { deadlineMs } : {}),
      },
      options,
    });
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
    const res = await this.request('POST', this.predictPath(model), {
      options,
      headers: {
        'content-type': 'application/octet-stream',
        accept: 'application/octet-stream',
        'x-gekko-shape': `${rows},${input.length / rows}`,
        ...(options.version ? { 'x-gekko-version': options.version } : {}),
        ...(options.deadlineMs
          ? { 'x-gekko-deadline-ms': String(options.deadlineMs) }
          : {}),
      },
      rawBody: new Uint8Array(input.buffer, input.byteOffset, input.byteLength),
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

  private predictPath(model: string) {
    return `/inference/models/${encodeURIComponent(model)}/predict`;
  }

  private versionPath(name: string, version: string, rest: string) {
    return `/inference/models/${encodeURIComponent(
      name,
    )}/versions/${encodeURIComponent(version)}${rest}`;
  }

  private async json<T>(
    method: string,
    path: string,
    request: { query?: Query; body?: unknown; options?: GekkoRequestOptions },
  ): Promise<T> {
    const res = await this.request(method, path, {
      ...request,
      headers:
        request.body === undefined
          ? {}
          : { 'content-type': 'application/json' },
      rawBody:
        request.body === undefined ? undefined : JSON.stringify(request.body),
    });
    return (await res.json()) as T;
  }

  /** Sends a request to the gekko backend; rejects with a `ResponseError` on a non-2xx answer. */
  private async request(
    method: string,
    path: string,
    request: {
      query?: Query;
      headers?: Record<string, string>;
      rawBody?: string | Uint8Array;
      options?: GekkoRequestOptions;
    },
  ): Promise<Response> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const search = params.toString();
    const baseUrl = await this.options.discoveryApi.getBaseUrl('gekko');
    const token = request.options?.token;
    const url = `${baseUrl}${path}${search ? `?${search}` : ''}`;
    const init: RequestInit = {
      method,
      headers: {
        ...request.headers,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(request.rawBody !== undefined ? { body: request.rawBody } : {}),
    };
    const res = this.options.fetchApi
      ? await this.options.fetchApi.fetch(url, init)
      : await fetch(url, init);
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res;
  }
}
