/** One series of an instant query's answer; `value` is undefined where Prometheus says NaN. */
export interface PrometheusSample {
  labels: Record<string, string>;
  value: number | undefined;
}

/** One series of a range query's answer: epoch milliseconds and values (NaN as undefined). */
export interface PrometheusSeries {
  labels: Record<string, string>;
  points: Array<[t: number, value: number | undefined]>;
}

/** An alert as Prometheus's `/api/v1/alerts` lists it: pending or firing. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  /** ISO time since when the condition holds. */
  activeAt: string;
}

/**
 * What went wrong asking Prometheus, in words that say what to fix. `rejected` is a query
 * Prometheus could not parse (its `bad_data`): the fault lies in what the query was built from.
 */
export class PrometheusError extends Error {
  name = 'PrometheusError';
  constructor(
    message: string,
    readonly reason: 'unreachable' | 'rejected' | 'failed',
    /** Prometheus's own words, where it gave some. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** A sample value as Prometheus writes it (`+Inf`, `-Inf`, `NaN` included); NaN is no value. */
const number = (value: string) => {
  const n = Number(value.replace(/Inf$/, 'Infinity'));
  return Number.isNaN(n) ? undefined : n;
};

/** Reads Prometheus's HTTP API: instant and range queries, and the alerts of its rules. */
export class PrometheusClient {
  readonly baseUrl: string;
  /** How long one request may take. */
  readonly timeoutMs: number;

  constructor(baseUrl: string, options: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** An instant query, evaluated at `time` (epoch ms; default Prometheus's now). */
  async query(promql: string, time?: number): Promise<PrometheusSample[]> {
    const form: Record<string, string> = { query: promql };
    if (time !== undefined) form.time = String(time / 1000);
    const data = await this.call<{
      resultType: string;
      result: Array<{
        metric: Record<string, string>;
        value: [number, string];
      }>;
    }>('/api/v1/query', form);
    if (data.resultType !== 'vector') {
      throw new PrometheusError(
        `Prometheus answered a ${data.resultType} where the portal asked for an instant vector`,
        'failed',
      );
    }
    return data.result.map(r => ({
      labels: r.metric,
      value: number(r.value[1]),
    }));
  }

  /** A range query from `start` to `end` (epoch ms), one point per `stepSeconds`. */
  async queryRange(
    promql: string,
    start: number,
    end: number,
    stepSeconds: number,
  ): Promise<PrometheusSeries[]> {
    const data = await this.call<{
      result: Array<{
        metric: Record<string, string>;
        values: Array<[number, string]>;
      }>;
    }>('/api/v1/query_range', {
      query: promql,
      start: String(start / 1000),
      end: String(end / 1000),
      step: String(stepSeconds),
    });
    return data.result.map(r => ({
      labels: r.metric,
      points: r.values.map(([t, v]) => [Math.round(t * 1000), number(v)]),
    }));
  }

  /** The alerts of Prometheus's rules that are pending or firing now. */
  async alerts(): Promise<PrometheusAlert[]> {
    const data = await this.call<{ alerts: PrometheusAlert[] }>(
      '/api/v1/alerts',
    );
    return data.alerts.filter(
      a => a.state === 'pending' || a.state === 'firing',
    );
  }

  private async call<T>(path: string, form?: Record<string, string>) {
    const url = `${this.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        // POST: the SLO queries are too long for some proxies' URL limits.
        method: form ? 'POST' : 'GET',
        body: form ? new URLSearchParams(form) : undefined,
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `did not answer within ${this.timeoutMs} ms`
          : `could not be reached (${e.cause?.code ?? e.message})`;
      throw new PrometheusError(
        `Prometheus at ${this.baseUrl} ${why}; check gekko.prometheus.baseUrl`,
        'unreachable',
      );
    }
    const text = await res.text();
    let body: { status?: string; data?: T; errorType?: string; error?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusError(
        `Prometheus at ${this.baseUrl} answered ${res.status} to ${path}, which is not Prometheus's API; check that gekko.prometheus.baseUrl is Prometheus's own address, such as http://prometheus:9090 (without /api/v1)`,
        'failed',
      );
    }
    if (body.status === 'success' && body.data) return body.data;
    if (body.errorType === 'bad_data') {
      throw new PrometheusError(
        `Prometheus rejected the query: ${body.error}`,
        'rejected',
        body.error,
      );
    }
    throw new PrometheusError(
      `Prometheus at ${this.baseUrl} could not run the query (${res.status} ${
        body.errorType ?? 'error'
      }: ${body.error ?? 'no reason given'})`,
      'failed',
    );
  }
}
