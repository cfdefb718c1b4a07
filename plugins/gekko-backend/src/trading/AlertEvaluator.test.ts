import { TradingAlert } from '@gekko/plugin-gekko-common';
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
