import { ResponseError } from '@backstage/errors';
import type { FetchApi } from '@backstage/frontend-plugin-api';
import { mockApis } from '@backstage/frontend-test-utils';
import { GekkoClient } from './GekkoClient';

const baseUrl = 'http://backstage.test/api/gekko';

/** A fetchApi that answers every request with one canned response, and remembers the URLs. */
function fakeFetchApi(
  status: number,
  body: unknown,
): FetchApi & { requested: string[] } {
  const requested: string[] = [];
  return {
    requested,
    fetch: async input => {
      requested.push(String(input));
      return new Response(JSON.stringify(body), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    },
  };
}

function createClient(fetchApi: FetchApi) {
  return new GekkoClient({
    discoveryApi: mockApis.discovery.mock({
      getBaseUrl: async pluginId => `http://backstage.test/api/${pluginId}`,
    }),
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
});
