import { TRADING_METRICS } from '@gekko/plugin-gekko-common';
import {
  histogramQuantile,
  parseExposition,
  Sample,
  sampleValue,
} from './__testUtils__/exposition';
import { TradingSimulator, TradingSimulatorOptions } from './TradingSimulator';

const START_MS = Date.UTC(2026, 0, 5, 14, 30);

/** A simulator on a clock that moves only when the test says. */
function createSimulator(options: TradingSimulatorOptions = {}) {
  let nowMs = START_MS;
  const simulator = new TradingSimulator({ now: () => nowMs, ...options });
  return {
    simulator,
    nowSeconds: () => nowMs / 1000,
    /** Lets `seconds` pass, advancing once a second (the ticker would four times). */
    run(seconds: number) {
      for (let i = 0; i < seconds; i++) {
        nowMs += 1000;
        simulator.advance();
      }
    },
    /** Lets `seconds` pass with nothing advancing, as in a suspended process. */
    pause(seconds: number) {
      nowMs += seconds * 1000;
    },
    async scrape(service: string): Promise<Sample[]> {
      return parseExposition(await simulator.metrics(service));
    },
  };
}

/** Per-second rate of a counter over `seconds` of running. */
async function counterRate(
  sim: ReturnType<typeof createSimulator>,
  service: string,
  metric: string,
  labels: Record<string, string>,
  seconds = 60,
): Promise<number> {
  const before = sampleValue(await sim.scrape(service), metric, labels);
  sim.run(seconds);
  const after = sampleValue(await sim.scrape(service), metric, labels);
  return (after - before) / seconds;
}

/** Market-data updates per second from OANDA over a minute. */
const oandaUpdateRate = (sim: ReturnType<typeof createSimulator>) =>
  counterRate(sim, 'market-data-oanda', TRADING_METRICS.marketDataUpdates, {
    venue: 'oanda',
  });

/** Order-execution p99 over `seconds` of running. */
async function orderP99(
  sim: ReturnType<typeof createSimulator>,
  seconds = 60,
): Promise<number> {
  const before = await sim.scrape('order-execution');
  sim.run(seconds);
  const after = await sim.scrape('order-execution');
  return histogramQuantile(0.99, TRADING_METRICS.orderLatency, before, after);
}

describe('TradingSimulator', () => {
  it('keeps order execution p99 under 100 ms when healthy', async () => {
    const sim = createSimulator();
    const p99 = await orderP99(sim);
    expect(p99).toBeGreaterThan(0.035);
    expect(p99).toBeLessThan(0.1);
  });

  it('raises order execution p99 over 100 ms during a latency spike, and restores it when cleared', async () => {
    const sim = createSimulator();
    sim.simulator.setFault('order-execution', 'latency-spike', {});
    expect(await orderP99(sim)).toBeGreaterThan(0.1);

    expect(sim.simulator.clearFault('order-execution', 'latency-spike')).toBe(
      true,
    );
    expect(await orderP99(sim)).toBeLessThan(0.1);
  });

  it('keeps every default latency under its SLO when healthy', async () => {
    const sim = createSimulator();
    const slos = [
      ['risk-engine', TRADING_METRICS.riskLatency, 0.025],
      ['trading-engine', TRADING_METRICS.apiLatency, 0.05],
      ['security-auth', TRADING_METRICS.authLatency, 0.1],
    ] as const;
    const before = await Promise.all(slos.map(([s]) => sim.scrape(s)));
    sim.run(60);
    for (const [i, [service, metric, threshold]] of slos.entries()) {
      const after = await sim.scrape(service);
      expect(histogramQuantile(0.99, metric, before[i], after)).toBeLessThan(
        threshold,
      );
    }
  });

  it('takes a disconnected venue down: gauge 0, no new messages, no market data', async () => {
    const sim = createSimulator();
    expect(() =>
      sim.simulator.setFault('order-execution', 'venue-disconnect', {}),
    ).toThrow('venue: must be one of coinbase, binance-us, oanda, got nothing');
    sim.run(3);
    const disconnectedAt = sim.nowSeconds();
    sim.simulator.setFault('order-execution', 'venue-disconnect', {
      venue: 'binance-us',
    });
    sim.simulator.setFault('market-data-oanda', 'venue-disconnect', {});
    sim.run(10);

    const orders = await sim.scrape('order-execution');
    const connected = (venue: string, protocol: string) =>
      sampleValue(orders, TRADING_METRICS.venueConnected, { venue, protocol });
    expect(connected('binance-us', 'REST')).toBe(0);
    expect(connected('coinbase', 'WebSocket')).toBe(1);
    expect(connected('oanda', 'FIX')).toBe(1);
    const lastMessage = (venue: string) =>
      sampleValue(orders, TRADING_METRICS.venueLastMessage, { venue });
    expect(lastMessage('binance-us')).toBe(disconnectedAt);
    expect(lastMessage('coinbase')).toBe(sim.nowSeconds());

    expect(await oandaUpdateRate(sim)).toBe(0);

    sim.simulator.clearFault('market-data-oanda', 'venue-disconnect');
    expect(await oandaUpdateRate(sim)).toBeGreaterThan(10_000);
  });

  it('drops the market-data rate below 10,000/s during a throughput drop', async () => {
    const sim = createSimulator();
    const healthy = await oandaUpdateRate(sim);
    expect(healthy).toBeGreaterThan(10_000);
    expect(healthy).toBeCloseTo(10_800, -2);

    sim.simulator.setFault('market-data-oanda', 'throughput-drop', {});
    const dropped = await oandaUpdateRate(sim);
    expect(dropped).toBeLessThan(10_000);
    expect(dropped).toBeCloseTo(10_800 * 0.3, -2);
  });

  it('grows resident memory linearly during a memory leak, and gives it back when cleared', async () => {
    const sim = createSimulator();
    const memory = async () =>
      sampleValue(
        await sim.scrape('order-execution'),
        TRADING_METRICS.residentMemory,
      );
    const healthy = await memory();
    expect(healthy).toBeGreaterThan(290e6);
    expect(healthy).toBeLessThan(310e6);

    sim.simulator.setFault('order-execution', 'memory-leak', {
      bytesPerSecond: 1e6,
    });
    const readings = [await memory()];
    for (let i = 0; i < 3; i++) {
      sim.run(60);
      readings.push(await memory());
    }
    for (let i = 1; i < readings.length; i++) {
      // 60 MB a minute, give or take the steady level's noise (sd 0.6 MB).
      expect(readings[i] - readings[i - 1]).toBeGreaterThan(57e6);
      expect(readings[i] - readings[i - 1]).toBeLessThan(63e6);
    }
    expect(
      sampleValue(
        await sim.scrape('order-execution'),
        TRADING_METRICS.memoryLimit,
      ),
    ).toBe(1024 ** 3);

    sim.simulator.clearFault('order-execution', 'memory-leak');
    sim.run(1);
    expect(await memory()).toBeLessThan(310e6);
  });

  it('raises the share of failed requests during an error burst', async () => {
    const sim = createSimulator();
    const errorShare = async () => {
      const counts = async () => {
        const samples = await sim.scrape('order-execution');
        return ['success', 'error'].map(outcome =>
          sampleValue(samples, TRADING_METRICS.requests, { outcome }),
        );
      };
      const [success0, error0] = await counts();
      sim.run(120);
      const [success1, error1] = await counts();
      const errors = error1 - error0;
      return errors / (errors + success1 - success0);
    };
    expect(await errorShare()).toBeLessThan(0.005);
    sim.simulator.setFault('order-execution', 'error-burst', { ratio: 0.2 });
    const share = await errorShare();
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.25);
  });

  it('exposes the business metrics of the risk and trading engines', async () => {
    const sim = createSimulator();
    sim.run(30);
    const risk = await sim.scrape('risk-engine');
    const exposure = sampleValue(risk, TRADING_METRICS.riskExposure);
    expect(exposure).toBeGreaterThan(4e6);
    expect(exposure).toBeLessThan(8e6);
    expect(sampleValue(risk, TRADING_METRICS.riskExposureLimit)).toBe(10e6);

    const engine = await sim.scrape('trading-engine');
    expect(sampleValue(engine, TRADING_METRICS.modelAccuracy)).toBeCloseTo(
      0.58,
      1,
    );
    expect(Number.isFinite(sampleValue(engine, TRADING_METRICS.pnl))).toBe(
      true,
    );
    expect(
      await counterRate(
        sim,
        'trading-engine',
        TRADING_METRICS.tradingVolume,
        {},
      ),
    ).toBeCloseTo(25_000, -3);
  });

  it('exposes only what a service spec asks for', async () => {
    const sim = createSimulator({
      services: [
        { name: 'quote-feed', venues: ['oanda'], marketDataPerSecond: 200 },
      ],
    });
    expect(sim.simulator.serviceNames()).toEqual(['quote-feed']);
    const samples = await sim.scrape('quote-feed');
    expect([...new Set(samples.map(s => s.name))].sort()).toEqual([
      TRADING_METRICS.marketDataUpdates,
      TRADING_METRICS.venueConnected,
      TRADING_METRICS.venueLastMessage,
    ]);
    expect(
      await counterRate(sim, 'quote-feed', TRADING_METRICS.marketDataUpdates, {
        venue: 'oanda',
      }),
    ).toBeCloseTo(200, -1);
  });

  it('simulates at most 5 seconds after a long pause', async () => {
    const sim = createSimulator({
      services: [
        { name: 'quote-feed', venues: ['oanda'], marketDataPerSecond: 1000 },
      ],
    });
    const updates = async () =>
      sampleValue(
        await sim.scrape('quote-feed'),
        TRADING_METRICS.marketDataUpdates,
      );
    const before = await updates();
    sim.pause(3600);
    const after = await updates();
    expect(after - before).toBeGreaterThan(5 * 1000 * 0.97);
    expect(after - before).toBeLessThan(5 * 1000 * 1.03);
  });

  it('gives the same figures for the same seed', async () => {
    const a = createSimulator({ seed: 7 });
    const b = createSimulator({ seed: 7 });
    a.run(10);
    b.run(10);
    expect(await a.simulator.metrics('risk-engine')).toBe(
      await b.simulator.metrics('risk-engine'),
    );
  });

  it('lists the faults switched on, and clears them all', () => {
    const { simulator } = createSimulator();
    simulator.setFault('risk-engine', 'latency-spike', { factor: 3 });
    simulator.setFault('risk-engine', 'latency-spike', { factor: 4 });
    simulator.setFault('security-auth', 'error-burst', {});
    expect(simulator.faults()).toEqual([
      {
        service: 'risk-engine',
        kind: 'latency-spike',
        params: { factor: 4 },
        since: new Date(START_MS).toISOString(),
      },
      {
        service: 'security-auth',
        kind: 'error-burst',
        params: { ratio: 0.05 },
        since: new Date(START_MS).toISOString(),
      },
    ]);
    expect(simulator.faults('security-auth')).toHaveLength(1);
    simulator.clearAll();
    expect(simulator.faults()).toEqual([]);
    expect(simulator.clearFault('risk-engine', 'latency-spike')).toBe(false);
  });

  it.each([
    [
      'nope',
      'latency-spike',
      {},
      'service: "nope" is not simulated; known: order-execution',
    ],
    [
      'risk-engine',
      'meltdown',
      {},
      'kind: "meltdown" is not a fault; known: latency-spike',
    ],
    [
      'risk-engine',
      'latency-spike',
      { factor: 0.5 },
      'factor: must be a number over 1, got 0.5',
    ],
    [
      'risk-engine',
      'latency-spike',
      { factor: '5' },
      'factor: must be a number over 1, got "5"',
    ],
    [
      'risk-engine',
      'latency-spike',
      { speed: 5 },
      'speed: is not a parameter of latency-spike; it takes factor',
    ],
    [
      'risk-engine',
      'throughput-drop',
      { factor: 1.5 },
      'factor: must be a number from 0 up to (not including) 1, got 1.5',
    ],
    [
      'risk-engine',
      'error-burst',
      { ratio: -0.1 },
      'ratio: must be a number from 0 to 1, got -0.1',
    ],
    [
      'risk-engine',
      'memory-leak',
      { bytesPerSecond: 0 },
      'bytesPerSecond: must be a number over 0, got 0',
    ],
    [
      'risk-engine',
      'venue-disconnect',
      {},
      'venue: this service connects to no venue',
    ],
    [
      'order-execution',
      'venue-disconnect',
      { venue: 'kraken' },
      'venue: must be one of coinbase, binance-us, oanda, got "kraken"',
    ],
    [
      'risk-engine',
      'latency-spike',
      [5],
      "body: must be a JSON object of the fault's parameters, got [5]",
    ],
  ])('refuses %s %s %j', (service, kind, params, message) => {
    const { simulator } = createSimulator();
    expect(() => simulator.setFault(service, kind, params)).toThrow(message);
    expect(simulator.faults()).toEqual([]);
  });
});
