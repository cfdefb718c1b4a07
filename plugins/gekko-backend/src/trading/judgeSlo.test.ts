import {
  DEFAULT_SLOS,
  parseSloAnnotation,
  worstHealthState,
} from '@gekko/plugin-gekko-common';
import { histogramQuantile, indicatorsFromHistory } from './historyIndicators';
import { judgeSlo } from './judgeSlo';
import { goodBucket, MetricFamily, observe } from './observe';
import { parseExposition } from './scrape';
import { ServiceHistory } from './ServiceHistory';

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** An exposition of an order-latency histogram and request counter, as a service would serve it. */
function exposition(orders: number[], errors: number, requests: number) {
  const lines = [
    '# HELP gekko_order_execution_duration_seconds Signal to execution',
    '# TYPE gekko_order_execution_duration_seconds histogram',
  ];
  for (const le of BUCKETS) {
    lines.push(
      `gekko_order_execution_duration_seconds_bucket{le="${le}"} ${
        orders.filter(o => o <= le).length
      }`,
    );
  }
  lines.push(
    `gekko_order_execution_duration_seconds_bucket{le="+Inf"} ${orders.length}`,
    `gekko_order_execution_duration_seconds_sum ${orders.reduce(
      (a, b) => a + b,
      0,
    )}`,
    `gekko_order_execution_duration_seconds_count ${orders.length}`,
    '# TYPE gekko_requests_total counter',
    `gekko_requests_total{outcome="success"} ${requests - errors}`,
    `gekko_requests_total{outcome="error"} ${errors}`,
    '',
  );
  return lines.join('\n');
}

const slos = parseSloAnnotation('order-latency, availability');
const MINUTE = 60_000;

/** Feeds a history one scrape a minute: `perMinute(i)` gives minute i's new order latencies. */
function feed(
  minutes: number,
  perMinute: (i: number) => {
    orders: number[];
    errors?: number;
    requests?: number;
  },
) {
  const history = new ServiceHistory();
  const orders: number[] = [];
  let errors = 0;
  let requests = 0;
  let keys: string[] = [];
  for (let i = 0; i <= minutes; i++) {
    const m = perMinute(i);
    orders.push(...m.orders);
    errors += m.errors ?? 0;
    requests += m.requests ?? 1000;
    const families = parseExposition(
      exposition(orders, errors, requests),
      'test',
    );
    const o = observe(families, slos, [], i * MINUTE);
    history.add(o);
    keys = Object.keys(o.counters);
  }
  return { history, keys, now: minutes * MINUTE };
}

const fast = () => ({
  orders: Array.from({ length: 100 }, (_, k) => 0.02 + k * 0.0002),
});

describe('histogramQuantile', () => {
  it('interpolates within the bucket the rank falls in, as Prometheus does', () => {
    // 100 observations: 50 under 10 ms, 50 between 10 and 50 ms.
    const buckets: Array<[number, number]> = [
      [0.01, 50],
      [0.05, 100],
      [Infinity, 100],
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.01);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(
      0.01 + 0.04 * (49 / 50),
    );
  });

  it('answers the largest finite bound when the rank is in +Inf, and nothing without data', () => {
    expect(
      histogramQuantile(0.99, [
        [0.1, 10],
        [Infinity, 100],
      ]),
    ).toBe(0.1);
    expect(histogramQuantile(0.99, [[0.1, 0]])).toBeUndefined();
  });
});

describe('goodBucket', () => {
  it('counts the largest bucket at or under the limit as good, as the generated rules do', () => {
    expect(goodBucket(BUCKETS, 0.1)).toBe(0.1);
    expect(goodBucket(BUCKETS, 0.08)).toBe(0.05);
    expect(goodBucket(BUCKETS, 0.001)).toBeUndefined();
  });
});

describe('ServiceHistory', () => {
  it('treats a counter that went down as restarted, as Prometheus does', () => {
    const h = new ServiceHistory();
    h.add({ t: 0, counters: { c: 100 }, gauges: {} });
    h.add({ t: 1000, counters: { c: 150 }, gauges: {} });
    h.add({ t: 2000, counters: { c: 20 }, gauges: {} }); // restarted: +20
    h.add({ t: 3000, counters: { c: 30 }, gauges: {} });
    expect(h.increase(['c'], 10_000)?.values).toEqual([80]);
    expect(h.increase(['c'], 1_000)?.values).toEqual([10]);
  });

  it('forgets samples older than its retention', () => {
    const h = new ServiceHistory(10_000);
    for (let t = 0; t <= 30_000; t += 1000) {
      h.add({ t, counters: { c: t }, gauges: {} });
    }
    expect(h.firstTime).toBe(20_000);
  });
});

describe('judgeSlo', () => {
  it('is ok when the p99 is under the limit and the budget is untouched', () => {
    const { history, keys, now } = feed(70, fast);
    const status = judgeSlo(
      DEFAULT_SLOS['order-latency'],
      indicatorsFromHistory(DEFAULT_SLOS['order-latency'], history, now, keys),
    );
    expect(status.state).toBe('ok');
    expect(status.current).toBeLessThan(0.05);
    expect(status.budgetRemaining).toBe(1);
    expect(status.reason).toMatch(
      /p99 .* ms over the last 5 min, limit 100 ms/,
    );
  });

  it('is a breach with the page burn rate named when a latency spike burns the budget', () => {
    // An hour of healthy orders, then 30 minutes where a third of them take 300 ms.
    const { history, keys, now } = feed(90, i =>
      i < 60
        ? fast()
        : {
            orders: [
              ...fast().orders.slice(0, 66),
              ...Array.from({ length: 34 }, () => 0.3),
            ],
          },
    );
    const status = judgeSlo(
      DEFAULT_SLOS['order-latency'],
      indicatorsFromHistory(DEFAULT_SLOS['order-latency'], history, now, keys),
    );
    expect(status.state).toBe('breach');
    expect(status.current).toBeGreaterThan(0.1);
    const fiveMinutes = status.burnRates.find(b => b.window === '5m')!.rate!;
    expect(fiveMinutes).toBeCloseTo(34, 0); // 34 % bad against a 1 % budget
    expect(status.reason).toMatch(
      /burns .* over 1h and .* over 5m \(alert at 14.4×\)/,
    );
  });

  it('warns on a slow burn that only the ticket windows catch, the p99 now within its limit', () => {
    // 2 % of orders over the limit for 8 hours (a burn rate of 2, not a page), then 10 good minutes.
    const { history, keys, now } = feed(8 * 60 + 10, i =>
      i <= 8 * 60
        ? { orders: [...fast().orders.slice(0, 98), 0.3, 0.3] }
        : fast(),
    );
    const status = judgeSlo(
      DEFAULT_SLOS['order-latency'],
      indicatorsFromHistory(DEFAULT_SLOS['order-latency'], history, now, keys),
    );
    expect(status.state).toBe('warning');
    expect(status.reason).toMatch(/over 3d and .* over 6h \(alert at 1×\)/);
  });

  it('judges availability from the error outcome, by its burn rate', () => {
    // 5 % errors for the last 5 minutes: 50 times the budget over 5 min, 25 times over the hour.
    const { history, keys, now } = feed(10, i => ({
      ...fast(),
      errors: i > 5 ? 50 : 0,
      requests: 1000,
    }));
    const status = judgeSlo(
      DEFAULT_SLOS.availability,
      indicatorsFromHistory(DEFAULT_SLOS.availability, history, now, keys),
    );
    expect(status.state).toBe('breach');
    expect(status.current).toBeCloseTo(0.95, 2);
    expect(status.reason).toMatch(/burns .* over 1h/);
  });

  it('only warns when a quiet service’s 5 minutes hold an error or two', () => {
    const { history, keys, now } = feed(120, i => ({
      ...fast(),
      errors: i === 118 ? 2 : 0,
      requests: 200,
    }));
    const status = judgeSlo(
      DEFAULT_SLOS.availability,
      indicatorsFromHistory(DEFAULT_SLOS.availability, history, now, keys),
    );
    expect(status.current).toBeLessThan(0.999);
    expect(status.state).toBe('warning');
  });

  it('says unknown, never ok, without data', () => {
    const status = judgeSlo(DEFAULT_SLOS['order-latency'], { errorRatios: {} });
    expect(status.state).toBe('unknown');
    expect(status.reason).toMatch(
      /no data for gekko_order_execution_duration_seconds/,
    );
    expect(worstHealthState(['ok', 'unknown'])).toBe('unknown');
    expect(worstHealthState(['unknown', 'warning', 'ok'])).toBe('warning');
  });

  it('judges a throughput by the minutes under its objective', () => {
    const slo = DEFAULT_SLOS['market-data-throughput'];
    const history = new ServiceHistory();
    let total = 0;
    for (let i = 0; i <= 20; i++) {
      total += (i > 15 ? 6_000 : 12_000) * 60;
      history.add({
        t: i * MINUTE,
        counters: { [`${slo.id}:total`]: total },
        gauges: {},
      });
    }
    const status = judgeSlo(
      slo,
      indicatorsFromHistory(slo, history, 20 * MINUTE, []),
    );
    expect(status.current).toBeCloseTo(6_000);
    expect(status.state).toBe('breach');
    expect(status.burnRates.find(b => b.window === '5m')!.rate).toBeCloseTo(
      1 / 0.001,
    );
  });
});

describe('parseExposition', () => {
  it('refuses an empty or malformed scrape with what to fix', () => {
    expect(() => parseExposition('', 'The metrics endpoint X')).toThrow(
      /answered an empty body/,
    );
    expect(() =>
      parseExposition('# TYPE x histogram\nx_bucket{le="0.1"} oops\n', 'X'),
    ).toThrow(/Prometheus text format|no metric families/);
  });

  it('reads venue gauges and business metrics into the observation', () => {
    const families: MetricFamily[] = parseExposition(
      [
        '# TYPE gekko_venue_connected gauge',
        'gekko_venue_connected{venue="coinbase",protocol="WebSocket"} 0',
        '# TYPE gekko_venue_last_message_timestamp_seconds gauge',
        'gekko_venue_last_message_timestamp_seconds{venue="coinbase"} 1700000000',
        '# TYPE gekko_risk_exposure_usd gauge',
        'gekko_risk_exposure_usd 11000000',
        '',
      ].join('\n'),
      'test',
    );
    const o = observe(families, [], ['coinbase'], 0);
    expect(o.gauges).toEqual({
      'venue:coinbase:connected': 0,
      'venue:coinbase:last': 1_700_000_000,
      exposure: 11_000_000,
    });
  });
});
