import { ResponseError } from '@backstage/errors';
import { GekkoClient } from './GekkoClient';

type FetchApi = { fetch: typeof fetch };

const baseUrl = 'http://backstage.test/api/gekko';

/** A fetchApi that answers every request with one canned response, and remembers the requests. */
function fakeFetchApi(
  status: number,
  body: unknown,
): FetchApi & { requested: string[]; inits: RequestInit[] } {
  const requested: string[] = [];
  const inits: RequestInit[] = [];
  return {
    requested,
    inits,
    fetch: async (input, init) => {
      requested.push(String(input));
      inits.push(init ?? {});
      return new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    },
  };
}

function createClient(fetchApi: FetchApi) {
  return new GekkoClient({
    discoveryApi: {
      getBaseUrl: async pluginId => `http://backstage.test/api/${pluginId}`,
    },
    fetchApi,
  });
}

describe('GekkoClient', () => {
  it('lists the pools', async () => {
    const fetchApi = fakeFetchApi(200, { items: [{ name: 'h100-primary' }] });

    const pools = await createClient(fetchApi).listPools();

    expect(pools).toEqual([{ name: 'h100-primary' }]);
    expect(fetchApi.requested).toEqual([`${baseUrl}/pools`]);
  });

  it('gets a pool by its name, escaped into the path', async () => {
    const fetchApi = fakeFetchApi(200, { name: 'h100-primary' });

    await createClient(fetchApi).getPool('h100/primary');

    expect(fetchApi.requested).toEqual([`${baseUrl}/pools/h100%2Fprimary`]);
  });

  it('sends only the audit filters that are set, encoded', async () => {
    const fetchApi = fakeFetchApi(200, { items: [], nextCursor: 'abc' });

    const page = await createClient(fetchApi).getAuditRecords({
      entityRef: 'component:default/trading-engine',
      outcome: 'denied',
      cursor: 'eyJzZXEiOjQyfQ==',
      limit: 20,
      actor: undefined,
    });

    expect(page).toEqual({ items: [], nextCursor: 'abc' });
    const url = new URL(fetchApi.requested[0]);
    expect(`${url.origin}${url.pathname}`).toBe(`${baseUrl}/audit/records`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      entityRef: 'component:default/trading-engine',
      outcome: 'denied',
      cursor: 'eyJzZXEiOjQyfQ==',
      limit: '20',
    });
  });

  it('asks for the newest audit records without a query string when no filter is set', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });

    await createClient(fetchApi).getAuditRecords();

    expect(fetchApi.requested).toEqual([`${baseUrl}/audit/records`]);
  });

  it('verifies the audit chain', async () => {
    const result = {
      valid: false,
      checked: 17,
      headHash: 'a'.repeat(64),
      firstBrokenSeq: 17,
      reason: 'hash mismatch',
    };
    const fetchApi = fakeFetchApi(200, result);

    expect(await createClient(fetchApi).verifyAuditChain()).toEqual(result);
    expect(fetchApi.requested).toEqual([`${baseUrl}/audit/verify`]);
  });

  it('lists the workers of one pool, its name encoded into the query', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });

    const workers = await createClient(fetchApi).listGpuWorkers('h100 primary');

    expect(workers).toEqual({ items: [] });
    expect(fetchApi.requested).toEqual([
      `${baseUrl}/gpu/workers?pool=h100+primary`,
    ]);
  });

  it('lists the workers of every pool when no pool is named', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });

    await createClient(fetchApi).listGpuWorkers();

    expect(fetchApi.requested).toEqual([`${baseUrl}/gpu/workers`]);
  });

  it('gets the live capacity of every pool', async () => {
    const capacity = {
      items: [
        {
          pool: 'h100-primary',
          workers: 2,
          readyWorkers: 1,
          devices: 3,
          requestsPerSecond: 12.5,
          queueDepth: 4,
        },
      ],
    };
    const fetchApi = fakeFetchApi(200, capacity);

    expect(await createClient(fetchApi).getGpuCapacity()).toEqual(capacity);
    expect(fetchApi.requested).toEqual([`${baseUrl}/gpu/capacity`]);
  });

  it.each(['15m', '24h'] as const)(
    'asks for the %s utilization history of a pool',
    async range => {
      const fetchApi = fakeFetchApi(200, { range, series: [] });

      const history = await createClient(fetchApi).getUtilization(
        'm2/dev&x',
        range,
      );

      expect(history).toEqual({ range, series: [] });
      const url = new URL(fetchApi.requested[0]);
      expect(`${url.origin}${url.pathname}`).toBe(`${baseUrl}/gpu/utilization`);
      expect(Object.fromEntries(url.searchParams)).toEqual({
        pool: 'm2/dev&x',
        range,
      });
    },
  );

  it('lists the model versions of a pool, and of every pool', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });
    const client = createClient(fetchApi);

    await client.listModelVersions('h100-primary');
    await client.listModelVersions();

    expect(fetchApi.requested).toEqual([
      `${baseUrl}/inference/models?pool=h100-primary`,
      `${baseUrl}/inference/models`,
    ]);
  });

  it.each([
    ['listGpuWorkers', (c: GekkoClient) => c.listGpuWorkers('h100-primary')],
    ['getGpuCapacity', (c: GekkoClient) => c.getGpuCapacity()],
    [
      'getUtilization',
      (c: GekkoClient) => c.getUtilization('h100-primary', '24h'),
    ],
    ['listModelVersions', (c: GekkoClient) => c.listModelVersions()],
  ])(
    '%s turns an error body into a ResponseError with its message',
    async (_method, call) => {
      const fetchApi = fakeFetchApi(503, {
        error: {
          name: 'ServiceUnavailableError',
          message: 'The GPU manager is not running',
        },
        response: { statusCode: 503 },
      });

      const error = await call(createClient(fetchApi)).catch(e => e);

      expect(ResponseError.is(error)).toBe(true);
      expect(error.statusCode).toBe(503);
      expect(error.cause).toMatchObject({
        name: 'ServiceUnavailableError',
        message: 'The GPU manager is not running',
      });
    },
  );

  it.each([
    [403, 'NotAllowedError', 'You are not allowed to read the audit trail'],
    [404, 'NotFoundError', 'No GPU pool named a100-legacy'],
  ])(
    'turns a %i into a ResponseError that carries the backend message',
    async (statusCode, name, message) => {
      const fetchApi = fakeFetchApi(statusCode, {
        error: { name, message },
        response: { statusCode },
      });

      const error = await createClient(fetchApi)
        .getPool('a100-legacy')
        .catch(e => e);

      expect(ResponseError.is(error)).toBe(true);
      expect(error.statusCode).toBe(statusCode);
      expect(error.cause).toMatchObject({ name, message });
    },
  );
  it('sends the token a backend caller passes, and no Authorization header otherwise', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });
    const client = createClient(fetchApi);

    await client.listPools({ token: 'service-token' });
    await client.listPools();

    expect(fetchApi.inits.map(i => i.headers)).toEqual([
      { authorization: 'Bearer service-token' },
      {},
    ]);
  });

  it('answers undefined for a pool the backend does not know, and rethrows other errors', async () => {
    const notFound = fakeFetchApi(404, {
      error: { name: 'NotFoundError', message: 'No GPU pool named x' },
      response: { statusCode: 404 },
    });
    expect(await createClient(notFound).findPool('x')).toBeUndefined();

    const denied = fakeFetchApi(403, {
      error: { name: 'NotAllowedError', message: 'denied' },
      response: { statusCode: 403 },
    });
    const error = await createClient(denied)
      .findPool('x')
      .catch(e => e);
    expect(error.statusCode).toBe(403);
  });

  it('posts JSON bodies with their content type, and only the predict options that are set', async () => {
    const fetchApi = fakeFetchApi(200, { model: 'm', outputs: {} });
    const client = createClient(fetchApi);

    await client.predict('nhits/eu', [[1, 2]], { version: '2', token: 't' });
    await client.setModelTraffic('nhits', { '1': 90, '2': 10 });

    expect(fetchApi.requested).toEqual([
      `${baseUrl}/inference/models/nhits%2Feu/predict`,
      `${baseUrl}/inference/models/nhits/traffic`,
    ]);
    expect(fetchApi.inits[0]).toMatchObject({
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer t',
      },
      body: JSON.stringify({ inputs: [[1, 2]], version: '2' }),
    });
    expect(fetchApi.inits[1]).toMatchObject({
      method: 'PUT',
      body: JSON.stringify({ weights: { '1': 90, '2': 10 } }),
    });
  });

  it('refuses a binary input that is not whole rows, before sending anything', async () => {
    const fetchApi = fakeFetchApi(200, {});

    await expect(
      createClient(fetchApi).predictBinary('m', 3, new Float32Array(4)),
    ).rejects.toThrow('input has 4 values, which is not 3 equal rows');
    expect(fetchApi.requested).toEqual([]);
  });

  it('reads trading health on its routes, each query encoded and only what is set sent', async () => {
    const fetchApi = fakeFetchApi(200, { items: [] });
    const client = createClient(fetchApi);
    const entityRef = 'component:default/order-execution';

    await client.getServiceHealth(entityRef);
    await client.getSloSeries({
      entityRef,
      slo: 'order-latency',
      range: '1h',
      step: '1m',
    });
    await client.getSloSeries({ entityRef, slo: 'availability' });
    await client.listServiceHealth('system:default/gordon-gekko');
    await client.listServiceHealth();
    await client.listTradingAlerts({ entityRef, limit: 20 });
    await client.listTradingAlerts();

    const ref = 'component%3Adefault%2Forder-execution';
    expect(fetchApi.requested).toEqual([
      `${baseUrl}/health?entityRef=${ref}`,
      `${baseUrl}/health/series?entityRef=${ref}&slo=order-latency&range=1h&step=1m`,
      `${baseUrl}/health/series?entityRef=${ref}&slo=availability`,
      `${baseUrl}/health/services?system=system%3Adefault%2Fgordon-gekko`,
      `${baseUrl}/health/services`,
      `${baseUrl}/health/alerts?entityRef=${ref}&limit=20`,
      `${baseUrl}/health/alerts`,
    ]);
    expect(fetchApi.inits.map(i => i.method)).toEqual(Array(7).fill('GET'));
  });

  it('answers the health of a service as the backend sent it', async () => {
    const health = {
      entityRef: 'component:default/risk-engine',
      state: 'unknown',
      source: 'scrape',
      slos: [],
      venues: [],
      business: {},
      alerts: [],
      errors: ['Not scraped yet: the first figures come within one interval'],
    };
    const fetchApi = fakeFetchApi(200, health);

    expect(
      await createClient(fetchApi).getServiceHealth(
        'component:default/risk-engine',
      ),
    ).toEqual(health);
  });

  it('rejects the health of an entity without gekko.io/slos with the 404 that says what to add', async () => {
    const message =
      'component:default/no-slos is not a trading service the portal judges: give the Component a gekko.io/slos annotation (e.g. order-latency, availability)';
    const fetchApi = fakeFetchApi(404, {
      error: { name: 'NotFoundError', message },
      response: { statusCode: 404 },
    });

    const error = await createClient(fetchApi)
      .getServiceHealth('component:default/no-slos')
      .catch(e => e);

    expect(ResponseError.is(error)).toBe(true);
    expect(error.statusCode).toBe(404);
    expect(error.cause.message).toBe(message);
  });

  it('starts, dry-runs, follows and rolls back deployments on their routes', async () => {
    const fetchApi = fakeFetchApi(200, { id: 'd1' });
    const client = createClient(fetchApi);
    const deployment = {
      entityRef: 'component:default/inference-gateway',
      target: 'gpu-pool',
      strategy: 'canary' as const,
      spec: { model: 'nhits-price', version: '2' },
    };

    await client.createDeployment(deployment);
    await client.dryRunDeployment(deployment);
    await client.getDeployment('d1');
    await client.listDeployments({ entityRef: deployment.entityRef });
    await client.rollbackDeployment('d1');

    expect(fetchApi.requested).toEqual([
      `${baseUrl}/deployments`,
      `${baseUrl}/deployments`,
      `${baseUrl}/deployments/d1`,
      `${baseUrl}/deployments?entityRef=component%3Adefault%2Finference-gateway`,
      `${baseUrl}/deployments/d1/rollback`,
    ]);
    expect(JSON.parse(String(fetchApi.inits[0].body)).dryRun).toBe(false);
    expect(JSON.parse(String(fetchApi.inits[1].body)).dryRun).toBe(true);
    expect(fetchApi.inits[4].method).toBe('POST');
  });
});
