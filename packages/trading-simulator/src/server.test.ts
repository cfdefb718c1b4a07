import { TRADING_METRICS } from '@gekko/plugin-gekko-common';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { parseExposition, sampleValue } from './__testUtils__/exposition';
import { TradingSimulator } from './TradingSimulator';

const promtool = [process.env.GEKKO_PROMTOOL, '/usr/bin/promtool'].find(
  (path): path is string => !!path && fs.existsSync(path),
);
/** `it` where promtool exists, else `it.skip`: the check then counts as skipped, not passed. */
const itWithPromtool = promtool ? it : it.skip;
if (!promtool) {
  // eslint-disable-next-line no-console
  console.warn(
    'SKIPPED: promtool check metrics — no promtool at $GEKKO_PROMTOOL or /usr/bin/promtool (Debian: apt-get install prometheus)',
  );
}

describe('the simulator over HTTP', () => {
  let nowMs = Date.UTC(2026, 0, 5, 14, 30);
  const simulator = new TradingSimulator({ now: () => nowMs });
  let base: string;

  beforeAll(async () => {
    const port = await simulator.listen({ port: 0 });
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(() => simulator.close());

  afterEach(() => simulator.clearAll());

  const request = (path: string, init?: RequestInit) =>
    fetch(`${base}${path}`, init);

  it('lists the services with their metrics URLs and faults', async () => {
    await request('/services/risk-engine/faults/latency-spike', {
      method: 'PUT',
    });
    const response = await request('/services');
    expect(response.status).toBe(200);
    const { services } = await response.json();
    expect(services.map((s: { name: string }) => s.name)).toEqual(
      simulator.serviceNames(),
    );
    expect(services[0]).toEqual({
      name: 'order-execution',
      metricsUrl: `${base}/services/order-execution/metrics`,
      faults: [],
    });
    expect(
      services.find((s: { name: string }) => s.name === 'risk-engine').faults,
    ).toEqual([expect.objectContaining({ kind: 'latency-spike' })]);
  });

  it("serves a service's metrics in the Prometheus text format, brought up to now", async () => {
    const scrape = async () => {
      const response = await request('/services/market-data-coinbase/metrics');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(
        'text/plain; version=0.0.4; charset=utf-8',
      );
      return parseExposition(await response.text());
    };
    const updates = (samples: ReturnType<typeof parseExposition>) =>
      sampleValue(samples, TRADING_METRICS.marketDataUpdates, {
        venue: 'coinbase',
      });
    const before = await scrape();
    nowMs += 2000;
    const after = await scrape();
    expect(updates(after) - updates(before)).toBeGreaterThan(2 * 14_000 * 0.97);
    expect(updates(after) - updates(before)).toBeLessThan(2 * 14_000 * 1.03);
  });

  it('switches a fault on with its parameters, lists it, and switches it off', async () => {
    const put = await request(
      '/services/order-execution/faults/venue-disconnect',
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ venue: 'oanda' }),
      },
    );
    expect(put.status).toBe(200);
    const fault = {
      service: 'order-execution',
      kind: 'venue-disconnect',
      params: { venue: 'oanda' },
      since: new Date(nowMs).toISOString(),
    };
    expect(await put.json()).toEqual({ fault });
    expect(await (await request('/faults')).json()).toEqual({
      faults: [fault],
    });
    const metrics = await (
      await request('/services/order-execution/metrics')
    ).text();
    expect(metrics).toContain(
      `${TRADING_METRICS.venueConnected}{venue="oanda",protocol="FIX"} 0`,
    );

    const remove = await request(
      '/services/order-execution/faults/venue-disconnect',
      { method: 'DELETE' },
    );
    expect(remove.status).toBe(204);
    expect(await (await request('/faults')).json()).toEqual({ faults: [] });
  });

  it('takes an empty body as the default parameters, and clears every fault at once', async () => {
    const put = await request('/services/risk-engine/faults/latency-spike', {
      method: 'PUT',
    });
    expect((await put.json()).fault.params).toEqual({ factor: 5 });
    await request('/services/monitoring/faults/memory-leak', {
      method: 'PUT',
      body: '{"bytesPerSecond": 5000000}',
    });
    expect(simulator.faults()).toHaveLength(2);

    expect((await request('/faults', { method: 'DELETE' })).status).toBe(204);
    expect(simulator.faults()).toEqual([]);
  });

  it.each<{
    status: number;
    method: string;
    path: string;
    message: string;
    body?: string;
  }>([
    {
      status: 404,
      method: 'GET',
      path: '/services/nope/metrics',
      message: 'service: "nope" is not simulated',
    },
    {
      status: 404,
      method: 'PUT',
      path: '/services/nope/faults/latency-spike',
      message: 'service: "nope"',
    },
    {
      status: 404,
      method: 'GET',
      path: '/metrics',
      message: '/metrics: no such route',
    },
    {
      status: 400,
      method: 'PUT',
      path: '/services/risk-engine/faults/meltdown',
      message:
        'kind: "meltdown" is not a fault; known: latency-spike, venue-disconnect',
    },
    {
      status: 400,
      method: 'DELETE',
      path: '/services/risk-engine/faults/meltdown',
      message: 'kind: "meltdown"',
    },
    {
      status: 400,
      method: 'PUT',
      path: '/services/risk-engine/faults/latency-spike',
      message: 'factor: must be a number over 1, got 1',
      body: '{"factor": 1}',
    },
    {
      status: 400,
      method: 'PUT',
      path: '/services/order-execution/faults/venue-disconnect',
      message: 'venue: must be one of coinbase, binance-us, oanda, got nothing',
    },
    {
      status: 400,
      method: 'PUT',
      path: '/services/risk-engine/faults/latency-spike',
      message: 'body: is not valid JSON',
      body: '{"factor": 5',
    },
    {
      status: 400,
      method: 'GET',
      path: '/services/risk%ZZ/metrics',
      message: 'path: holds a malformed %-escape',
    },
    {
      status: 413,
      method: 'PUT',
      path: '/services/risk-engine/faults/latency-spike',
      message: 'body: must be at most 16384 bytes',
      body: JSON.stringify({ factor: 5, padding: 'x'.repeat(20_000) }),
    },
    {
      status: 405,
      method: 'POST',
      path: '/services',
      message: 'POST /services: method not allowed; allowed: GET',
    },
    {
      status: 405,
      method: 'GET',
      path: '/services/risk-engine/faults/latency-spike',
      message: 'allowed: PUT, DELETE',
    },
  ])(
    'answers $status to $method $path: $message',
    async ({ status, method, path, message, body }) => {
      const response = await request(path, { method, body });
      expect({
        status: response.status,
        contentType: response.headers.get('content-type'),
        body: await response.json(),
      }).toEqual({
        status,
        contentType: 'application/json; charset=utf-8',
        body: { error: { message: expect.stringContaining(message) } },
      });
      expect(simulator.faults()).toEqual([]);
    },
  );

  it('answers 413 to a streamed body once it grows over 16 KiB', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(4096));
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await request(
      '/services/risk-engine/faults/latency-spike',
      // A stream has no length, so it goes chunked: the server counts as it reads.
      { method: 'PUT', body, duplex: 'half' } as RequestInit,
    );
    expect(response.status).toBe(413);
    expect(simulator.faults()).toEqual([]);
  });

  it('names the allowed methods in the Allow header of a 405', async () => {
    const response = await request(
      '/services/order-execution/faults/memory-leak',
    );
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('PUT, DELETE');
  });

  itWithPromtool(
    "passes promtool's check of every service's metrics, faults and all",
    async () => {
      await request('/services/order-execution/faults/venue-disconnect', {
        method: 'PUT',
        body: '{"venue": "coinbase"}',
      });
      nowMs += 1000;
      for (const name of simulator.serviceNames()) {
        const body = await (await request(`/services/${name}/metrics`)).text();
        const check = spawnSync(promtool!, ['check', 'metrics'], {
          input: body,
          encoding: 'utf8',
        });
        expect({
          name,
          status: check.status,
          output: check.stderr + check.stdout,
        }).toEqual({
          name,
          status: 0,
          output: '',
        });
      }
    },
  );
});
