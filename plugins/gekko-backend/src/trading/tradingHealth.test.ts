import { TestDatabases, mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { NotificationService } from '@backstage/plugin-notifications-node';
import { ServiceHealth, TradingAlert } from '@gekko/plugin-gekko-common';
import express from 'express';
import { Registry } from 'prom-client';
import request from 'supertest';
import { AuditTrail } from '../audit/AuditTrail';
import { openGekkoDatabase } from '../database/migrations';
import { AccessGuard } from '../service/AccessGuard';
import { createRouter } from '../service/createRouter';
import { until } from '../__testUtils__/until';
import { createTradingCapability } from './createTradingCapability';
import { tradingComponent } from './__testUtils__/tradingEntities';

jest.setTimeout(120_000);

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

const component = (
  name: string,
  owner: string,
  annotations: Record<string, string>,
) => tradingComponent(name, annotations, owner);

const entities = [
  component('order-execution', 'group:default/trading-ops', {
    'gekko.io/slos': 'order-latency, availability',
    'gekko.io/venues': 'coinbase, binance-us, oanda',
  }),
  component('risk-engine', 'group:default/trading-ops', {
    'gekko.io/slos': 'risk-latency',
  }),
  component('market-data-oanda', 'group:default/platform', {
    'gekko.io/slos': 'market-data-throughput',
    'gekko.io/venues': 'oanda',
    'gekko.io/metrics-url': 'http://127.0.0.1:1/metrics',
  }),
  component('no-slos', 'group:default/platform', {}),
];

/**
 * The capability on a clock the test moves: the simulator, the scrapes, the judgement and the
 * alerts all read it, so minutes of trading pass in milliseconds, with every part real (the
 * simulator's HTTP server, the parser, SQLite, the audit trail).
 */
describe('trading health on a simulated clock', () => {
  let t = Date.parse('2026-12-02T08:00:00Z');
  let trading: Awaited<ReturnType<typeof createTradingCapability>>;
  let trail: AuditTrail;
  let app: express.Express;
  const sent: Parameters<NotificationService['send']>[0][] = [];

  beforeAll(async () => {
    const knex = await databases.init('SQLITE_3');
    const db = await openGekkoDatabase({ getClient: async () => knex });
    const logger = mockServices.logger.mock();
    trail = new AuditTrail(db, { logger });
    trading = await createTradingCapability({
      db,
      logger,
      auth: mockServices.auth(),
      catalog: catalogServiceMock({ entities }),
      guard: new AccessGuard(
        mockServices.httpAuth(),
        mockServices.permissions(),
        trail,
      ),
      trail,
      config: {
        scrapeIntervalMs: 3_600_000, // the test scrapes by hand
        simulator: { port: 0, host: '127.0.0.1' },
        targets: {
          'order-execution': { type: 'simulator' },
          'risk-engine': { type: 'simulator' },
        },
      },
      registry: new Registry(),
      notifications: {
        async send(options) {
          sent.push(options);
        },
      },
      now: () => t,
    });
    app = express().use(
      '/api/gekko',
      createRouter({ logger, capabilities: [trading] }),
    );
  });

  afterAll(async () => {
    await trading?.stop?.();
  });

  /** Lets `seconds` of trading pass, scraping every 5 s as the embedded default does. */
  async function pass(seconds: number) {
    for (let s = 0; s < seconds; s += 5) {
      t += 5_000;
      await trading.health.scrapeAll();
    }
  }

  const healthOf = async (name: string): Promise<ServiceHealth> => {
    const res = await request(app)
      .get('/api/gekko/health')
      .query({ entityRef: `component:default/${name}` });
    expect(res.status).toBe(200);
    return res.body;
  };
  const slo = (h: ServiceHealth, id: string) =>
    h.slos.find(s => s.slo.id === id)!;
  const alertsOf = async (name: string): Promise<TradingAlert[]> =>
    (await healthOf(name)).alerts;
  const auditOf = async (action: string) =>
    (await trail.query({ action, order: 'asc', limit: 100 } as any)).items;

  it('judges healthy services ok from their scrapes, and a service it cannot scrape unknown', async () => {
    await pass(180);
    const h = await healthOf('order-execution');
    expect(h.state).toBe('ok');
    expect(h.errors).toEqual([]);
    expect(slo(h, 'order-latency').state).toBe('ok');
    expect(slo(h, 'order-latency').budgetRemaining).toBeGreaterThan(0.5);
    expect(slo(h, 'order-latency').current).toBeLessThan(0.1);
    expect(slo(h, 'availability').current).toBeGreaterThan(0.999);
    expect(h.venues.map(v => [v.venue, v.state, v.connected])).toEqual([
      ['coinbase', 'ok', true],
      ['binance-us', 'ok', true],
      ['oanda', 'ok', true],
    ]);
    expect(h.business.volumeUsdPerSecond).toBeGreaterThan(0);

    const unreachable = await healthOf('market-data-oanda');
    expect(unreachable.state).toBe('unknown');
    expect(unreachable.errors[0]).toMatch(
      /The metrics endpoint http:\/\/127.0.0.1:1\/metrics could not be reached .*check that the service runs/,
    );
    expect(unreachable.slos[0].state).toBe('unknown');
  });

  it('turns a latency spike into a breach and a critical alert, audited and sent to the owners; clearing it resolves', async () => {
    trading.simulator!.setFault('order-execution', 'latency-spike', {
      factor: 5,
    });
    // Within two scrapes the p99 is past its limit...
    await pass(10);
    let h = await healthOf('order-execution');
    expect(h.state).toBe('breach');
    expect(slo(h, 'order-latency').state).toBe('breach');
    expect(slo(h, 'order-latency').current).toBeGreaterThan(0.1);
    // ...and once the budget burns 14.4 times too fast over 5 min and 1 h, the page fires.
    await pass(60);
    h = await healthOf('order-execution');
    const burn = h.alerts.find(
      a => a.rule === 'GekkoSloErrorBudgetBurn' && a.labels.window === '1h/5m',
    );
    expect(burn).toMatchObject({ state: 'firing', severity: 'critical' });
    expect(await auditOf('alert.firing')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: 'plugin:gekko',
          target: 'component:default/order-execution',
          details: expect.objectContaining({
            rule: 'GekkoSloErrorBudgetBurn',
            severity: 'critical',
            labels: { slo: 'order-latency', window: '1h/5m' },
          }),
        }),
      ]),
    );
    expect(sent).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          recipients: {
            type: 'entity',
            entityRef: 'group:default/trading-ops',
          },
          payload: expect.objectContaining({
            severity: 'critical',
            title: expect.stringMatching(/^FIRING: GekkoSloErrorBudgetBurn/),
          }),
        }),
      ]),
    );
    // Only critical alerts are sent; warnings are on the tab.
    expect(sent.every(n => n.payload.severity === 'critical')).toBe(true);

    // Cleared, the alert resolves once the 5-minute window has let most of the spike go (the
    // short window is what makes a burn-rate alert reset fast).
    trading.simulator!.clearFault('order-execution', 'latency-spike');
    await pass(60);
    expect(
      (await alertsOf('order-execution')).find(a => a.id === burn!.id),
    ).toMatchObject({
      state: 'firing',
    });
    await pass(240);
    const alerts = await alertsOf('order-execution');
    expect(alerts.find(a => a.id === burn!.id)).toMatchObject({
      state: 'resolved',
    });
    expect(
      (await auditOf('alert.resolved')).map(r => r.details.alert),
    ).toContain(burn!.id);
  });

  it('fires a venue disconnect only after it lasted 30 s, as the rule’s for: says', async () => {
    trading.simulator!.setFault('order-execution', 'venue-disconnect', {
      venue: 'binance-us',
    });
    await pass(10);
    let h = await healthOf('order-execution');
    expect(h.venues.find(v => v.venue === 'binance-us')).toMatchObject({
      state: 'breach',
      connected: false,
    });
    const pending = h.alerts.find(a => a.rule === 'GekkoVenueDisconnected');
    expect(pending).toMatchObject({
      state: 'pending',
      labels: { venue: 'binance-us' },
    });

    await pass(30);
    h = await healthOf('order-execution');
    expect(h.alerts.find(a => a.id === pending!.id)).toMatchObject({
      state: 'firing',
      severity: 'critical',
    });
    trading.simulator!.clearFault('order-execution', 'venue-disconnect');
    await pass(5);
    h = await healthOf('order-execution');
    expect(h.venues.every(v => v.state === 'ok')).toBe(true);
  });

  it('predicts a memory exhaustion before it happens', async () => {
    trading.simulator!.setFault('risk-engine', 'memory-leak', {
      bytesPerSecond: 512 * 1024,
    });
    let predicted: TradingAlert | undefined;
    for (let minute = 0; minute < 15 && !predicted; minute++) {
      await pass(60);
      predicted = (await alertsOf('risk-engine')).find(
        a =>
          a.rule === 'GekkoMemoryExhaustionPredicted' && a.state === 'firing',
      );
    }
    expect(predicted).toBeDefined();
    // Fired while the service still had room: the point of a prediction.
    const res = await trading.simulator!.metrics('risk-engine');
    const resident = Number(
      /^process_resident_memory_bytes (\S+)/m.exec(res)![1],
    );
    const limit = Number(/^gekko_memory_limit_bytes (\S+)/m.exec(res)![1]);
    expect(resident).toBeLessThan(limit);
  });

  it('answers bad input with a 4xx that names the problem', async () => {
    const get = (query: Record<string, string>, path = '/api/gekko/health') =>
      request(app).get(path).query(query);
    const cases: [Record<string, string>, string, number, RegExp][] = [
      [{ entityRef: 'not a ref' }, '/api/gekko/health', 400, /entityRef/],
      [{}, '/api/gekko/health', 400, /entityRef: Required/],
      [
        { entityRef: 'component:default/no-slos' },
        '/api/gekko/health',
        404,
        /gekko.io\/slos annotation/,
      ],
      [
        { entityRef: 'component:default/order-execution', slo: 'nope' },
        '/api/gekko/health/series',
        404,
        /has no SLO "nope"; it has order-latency, availability/,
      ],
      [
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          range: '10y',
        },
        '/api/gekko/health/series',
        400,
        /range: must be a duration/,
      ],
      [
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          range: '30d',
        },
        '/api/gekko/health/series',
        400,
        /range must be over 0 and at most 3 days/,
      ],
      [
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          range: '1d',
          step: '10s',
        },
        '/api/gekko/health/series',
        400,
        /step: 10s gives 8640 points/,
      ],
      [
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          step: '1s',
        },
        '/api/gekko/health/series',
        400,
        /step: must be at least 5s/,
      ],
      [
        { entityRef: 'component:default/order-execution', extra: '1' },
        '/api/gekko/health',
        400,
        /extra: unknown field/,
      ],
    ];
    for (const [query, path, status, message] of cases) {
      const res = await get(query, path);
      expect({
        query,
        status: res.status,
        message: res.body.error?.message,
      }).toEqual({
        query,
        status,
        message: expect.stringMatching(message),
      });
    }
  });

  it('records deployments that end and configuration changes as info alerts of their entity, from the audit trail', async () => {
    await trail.append({
      actor: 'user:default/priya',
      action: 'deployment.rolled_back',
      target: 'component:default/order-execution',
      outcome: 'success',
      details: { deployment: 'd-42', reason: 'p99 over its limit' },
    });
    // Refused changes and the alerts' own records are no events.
    await trail.append({
      actor: 'user:default/sam',
      action: 'pool.update',
      target: 'component:default/order-execution',
      outcome: 'denied',
    });
    const info = await until(
      async () =>
        (await alertsOf('order-execution')).find(a => a.severity === 'info'),
      'the info alert',
    );
    expect(info).toMatchObject({
      rule: 'GekkoDeploymentFinished',
      state: 'resolved',
      labels: { action: 'deployment.rolled_back' },
      summary: expect.stringMatching(
        /^Deployment d-42 was rolled back: p99 over its limit \(by user:default\/priya, audit record \d+\)$/,
      ),
    });
    expect(
      (await alertsOf('order-execution')).filter(a => a.severity === 'info'),
    ).toHaveLength(1);
    // Info alerts are for the tab: nobody is notified.
    expect(sent.map(n => n.payload.title)).not.toContainEqual(
      expect.stringMatching(/GekkoDeploymentFinished/),
    );
  });

  it('draws an SLO over time and rolls the System up', async () => {
    const series = await request(app).get('/api/gekko/health/series').query({
      entityRef: 'component:default/order-execution',
      slo: 'order-latency',
      range: '1h',
      step: '1m',
    });
    expect(series.status).toBe(200);
    expect(series.body.points).toHaveLength(60);
    const values = series.body.points
      .map((p: any) => p.value)
      .filter((v: any) => v !== null);
    expect(Math.max(...values)).toBeGreaterThan(0.1); // the spike
    expect(Math.min(...values)).toBeLessThan(0.1);

    const rollup = await request(app)
      .get('/api/gekko/health/services')
      .query({ system: 'system:default/gordon-gekko' });
    expect(rollup.body.items.map((s: any) => [s.entityRef, s.state])).toEqual([
      ['component:default/market-data-oanda', 'unknown'],
      ['component:default/order-execution', expect.any(String)],
      ['component:default/risk-engine', expect.any(String)],
    ]);
  });
});
