import { DEFAULT_SLOS, TradingAlert } from '@gekko/plugin-gekko-common';
import { AlertEvaluator, linearFit } from './AlertEvaluator';
import { ServiceHistory } from './ServiceHistory';
import type { TradingHealth, TradingService } from './TradingHealth';

const MINUTE = 60_000;
const portal: TradingService = {
  entityRef: 'component:default/gekko-portal',
  name: 'gekko-portal',
  owner: 'group:default/platform',
  slos: [],
  venues: [],
  target: { type: 'self' },
  problems: [],
};

/** The evaluator over one service's history (the rest of TradingHealth is not needed here). */
function evaluatorOver(history: ServiceHistory) {
  const transitions: TradingAlert[] = [];
  const health = {
    list: () => [portal],
    historyOf: () => ({ history, lastCounterKeys: [] }),
  } as unknown as TradingHealth;
  const evaluator = new AlertEvaluator(health, async t => {
    transitions.push(t.alert);
  });
  return { evaluator, transitions };
}

describe('AlertEvaluator', () => {
  it('fires a GPU worker alert when a pool has fewer ready workers than 10 minutes ago, after its for: of 1 minute', async () => {
    const history = new ServiceHistory();
    const { evaluator, transitions } = evaluatorOver(history);
    let t = 0;
    const scrape = async (ready: number) => {
      t += 15_000;
      history.add({
        t,
        counters: {},
        gauges: ready ? { 'pool:cuda-primary:ready': ready } : {},
      });
      await evaluator.evaluate(t);
    };
    for (let i = 0; i < 48; i++) await scrape(2); // 12 minutes with 2 workers
    await scrape(1);
    expect(evaluator.list()).toEqual([
      expect.objectContaining({
        rule: 'GekkoGpuWorkerDown',
        state: 'pending',
        labels: { pool: 'cuda-primary' },
      }),
    ]);
    for (let i = 0; i < 4; i++) await scrape(0); // the other one goes too: no series at all
    expect(transitions).toEqual([
      expect.objectContaining({
        rule: 'GekkoGpuWorkerDown',
        state: 'firing',
        severity: 'critical',
        summary: expect.stringMatching(
          /has 0 ready workers, 2 ten minutes ago/,
        ),
      }),
    ]);
  });

  it('predicts a GPU running out of memory within the hour, and not a steady one', async () => {
    const history = new ServiceHistory();
    const { evaluator, transitions } = evaluatorOver(history);
    // 10,000 MiB used of 81,920 and growing 1,000 MiB a minute; the other GPU steady.
    for (let s = 0; s <= 20 * 60; s += 15) {
      const used = 10_000 + (1_000 * s) / 60;
      history.add({
        t: s * 1000,
        counters: {},
        gauges: {
          'gpu:cuda-primary|w1|0:used': used,
          'gpu:cuda-primary|w1|0:free': 81_920 - used,
          'gpu:cuda-primary|w2|0:used': 40_000,
          'gpu:cuda-primary|w2|0:free': 41_920,
        },
      });
      await evaluator.evaluate(s * 1000);
    }
    expect(transitions).toEqual([
      expect.objectContaining({
        rule: 'GekkoGpuMemoryExhaustionPredicted',
        labels: { pool: 'cuda-primary', worker: 'w1', gpu: '0' },
        state: 'firing',
        severity: 'warning',
      }),
    ]);
    // It fired with most of the GPU still free.
    expect(Date.parse(transitions[0].firedAt!)).toBeLessThan(20 * MINUTE);
  });

  it('predicts a latency breach an hour ahead while the p99 still meets its limit', async () => {
    const slo = DEFAULT_SLOS['order-latency'];
    const service = { ...portal, slos: [slo] };
    // 100 orders every 15 s, all at one latency that rises from 30 ms by 1 ms a minute.
    const bounds = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 1];
    const keys = [
      ...bounds.map(b => `${slo.id}:le=${b}`),
      `${slo.id}:le=Infinity`,
    ];
    const history = new ServiceHistory();
    const transitions: TradingAlert[] = [];
    const health = {
      list: () => [service],
      historyOf: () => ({ history, lastCounterKeys: keys }),
    } as unknown as TradingHealth;
    const evaluator = new AlertEvaluator(health, async t => {
      transitions.push(t.alert);
    });
    const counts = new Map<string, number>(keys.map(k => [k, 0]));
    let p99AtFiring: number | undefined;
    for (let s = 15; s <= 60 * 60 && !p99AtFiring; s += 15) {
      const latency = 0.03 + (0.001 * s) / 60;
      for (const b of [...bounds, Infinity]) {
        if (latency <= b)
          counts.set(
            `${slo.id}:le=${b}`,
            counts.get(`${slo.id}:le=${b}`)! + 100,
          );
      }
      history.add({
        t: s * 1000,
        counters: Object.fromEntries(counts),
        gauges: {},
      });
      await evaluator.evaluate(s * 1000);
      if (transitions.some(a => a.rule === 'GekkoLatencyBreachPredicted')) {
        p99AtFiring = latency;
      }
    }
    expect(
      transitions.find(a => a.rule === 'GekkoLatencyBreachPredicted'),
    ).toMatchObject({
      state: 'firing',
      severity: 'warning',
      labels: { slo: 'order-latency' },
    });
    expect(p99AtFiring).toBeLessThan(slo.threshold);
  });

  it('fits a line through a trend', () => {
    const fit = linearFit(
      Array.from({ length: 10 }, (_, i) => ({
        t: i * MINUTE,
        value: 100 + 5 * i,
      })),
    )!;
    expect(fit.slope * MINUTE).toBeCloseTo(5);
    expect(fit.at(20 * MINUTE)).toBeCloseTo(200);
    expect(linearFit([{ t: 0, value: 1 }])).toBeUndefined();
  });
});
