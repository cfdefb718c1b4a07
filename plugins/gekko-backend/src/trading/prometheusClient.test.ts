import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { PrometheusClient, PrometheusError } from './PrometheusClient';

/** A stand-in for Prometheus answering each path as the test says, recording the forms it got. */
async function fakePrometheus(
  answer: (path: string) => { status: number; body: string } | 'hang',
) {
  const forms: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', chunk => {
      body += chunk;
    });
    req.on('end', () => {
      forms.push(new URLSearchParams(body));
      const reply = answer(req.url!);
      if (reply === 'hang') return;
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    forms,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const ok = (data: unknown) => ({
  status: 200,
  body: JSON.stringify({ status: 'success', data }),
});

describe('PrometheusClient', () => {
  it('reads instant vectors (NaN as no value), ranges and the pending or firing alerts', async () => {
    const prometheus = await fakePrometheus(path => {
      if (path === '/api/v1/query') {
        return ok({
          resultType: 'vector',
          result: [
            { metric: { slo: 'a' }, value: [1700000000, '0.25'] },
            { metric: { slo: 'b' }, value: [1700000000, 'NaN'] },
          ],
        });
      }
      if (path === '/api/v1/query_range') {
        return ok({
          resultType: 'matrix',
          result: [
            {
              metric: {},
              values: [
                [1700000000, '1'],
                [1700000005.5, '+Inf'],
              ],
            },
          ],
        });
      }
      return ok({
        alerts: [
          {
            labels: { alertname: 'A' },
            annotations: {},
            state: 'firing',
            activeAt: '2026-01-01T00:00:00Z',
          },
          {
            labels: { alertname: 'B' },
            annotations: {},
            state: 'inactive',
            activeAt: '2026-01-01T00:00:00Z',
          },
        ],
      });
    });
    try {
      const client = new PrometheusClient(`${prometheus.url}/`);
      expect(await client.query('up', 1_700_000_000_500)).toEqual([
        { labels: { slo: 'a' }, value: 0.25 },
        { labels: { slo: 'b' }, value: undefined },
      ]);
      expect(prometheus.forms[0].get('time')).toBe('1700000000.5');
      expect(
        await client.queryRange(
          'up',
          1_700_000_000_000,
          1_700_000_005_500,
          5.5,
        ),
      ).toEqual([
        {
          labels: {},
          points: [
            [1_700_000_000_000, 1],
            [1_700_000_005_500, Infinity],
          ],
        },
      ]);
      expect(Object.fromEntries(prometheus.forms[1])).toEqual({
        query: 'up',
        start: '1700000000',
        end: '1700000005.5',
        step: '5.5',
      });
      expect((await client.alerts()).map(a => a.labels.alertname)).toEqual([
        'A',
      ]);
    } finally {
      await prometheus.close();
    }
  });

  it('says what to fix when Prometheus rejects a query, is not Prometheus, fails or does not answer', async () => {
    const prometheus = await fakePrometheus(path => {
      if (path.startsWith('/bad/')) {
        return {
          status: 400,
          body: JSON.stringify({
            status: 'error',
            errorType: 'bad_data',
            error:
              'invalid parameter "query": 1:8: parse error: unexpected "}"',
          }),
        };
      }
      if (path.startsWith('/wrong/'))
        return { status: 404, body: '404 page not found' };
      if (path.startsWith('/busy/')) {
        return {
          status: 503,
          body: JSON.stringify({
            status: 'error',
            errorType: 'timeout',
            error: 'query timed out',
          }),
        };
      }
      return 'hang';
    });
    const failure = async (client: PrometheusClient) => {
      try {
        await client.query('up');
      } catch (error) {
        return error as PrometheusError;
      }
      throw new Error('the query did not fail');
    };
    try {
      expect(
        await failure(new PrometheusClient(`${prometheus.url}/bad`)),
      ).toMatchObject({
        reason: 'rejected',
        detail: 'invalid parameter "query": 1:8: parse error: unexpected "}"',
      });
      expect(
        (await failure(new PrometheusClient(`${prometheus.url}/wrong`)))
          .message,
      ).toBe(
        `Prometheus at ${prometheus.url}/wrong answered 404 to /api/v1/query, which is not Prometheus's API; check that gekko.prometheus.baseUrl is Prometheus's own address, such as http://prometheus:9090 (without /api/v1)`,
      );
      expect(
        (await failure(new PrometheusClient(`${prometheus.url}/busy`))).message,
      ).toBe(
        `Prometheus at ${prometheus.url}/busy could not run the query (503 timeout: query timed out)`,
      );
      expect(
        await failure(
          new PrometheusClient(`${prometheus.url}/silent`, { timeoutMs: 200 }),
        ),
      ).toMatchObject({
        reason: 'unreachable',
        message: `Prometheus at ${prometheus.url}/silent did not answer within 200 ms; check gekko.prometheus.baseUrl`,
      });
    } finally {
      await prometheus.close();
    }
    // Closed: nothing listens there now.
    expect(await failure(new PrometheusClient(prometheus.url))).toMatchObject({
      reason: 'unreachable',
      message: `Prometheus at ${prometheus.url} could not be reached (ECONNREFUSED); check gekko.prometheus.baseUrl`,
    });
  });
});
