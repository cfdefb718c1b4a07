/*
 * Trading health benchmark, run by `npm run bench`: judging 1,000 services' SLOs from one scrape
 * each (parse, reduce, keep, judge every SLO over every burn-rate window), against parsing the same
 * scrapes alone, in the same run. Each figure is the median of three runs, with min and max.
 */
import { parseSloAnnotation } from '@gekko/plugin-gekko-common';
import { DEFAULT_SERVICES, TradingSimulator } from '@gekko/trading-simulator';
import { indicatorsFromHistory } from '../trading/historyIndicators';
import { judgeSlo } from '../trading/judgeSlo';
import { observe } from '../trading/observe';
import { parseExposition } from '../trading/scrape';
import { ServiceHistory } from '../trading/ServiceHistory';
import { verdict, writeBenchResults } from './results';

const SERVICES = Number(process.env.GEKKO_BENCH_HEALTH_SERVICES ?? 1000);
/** Scrapes of history each service has before the measured one (5 s apart: 10 minutes). */
const HISTORY = 120;
const RUNS = 3;

/** The SLOs and venues of each simulated service, as the catalog would declare them. */
const declared: Record<string, { slos: string; venues: string[] }> = {
  'order-execution': {
    slos: 'order-latency, availability',
    venues: ['coinbase', 'binance-us', 'oanda'],
  },
  'market-data-coinbase': {
    slos: 'market-data-throughput, availability',
    venues: ['coinbase'],
  },
  'market-data-binance-us': {
    slos: 'market-data-throughput, availability',
    venues: ['binance-us'],
  },
  'market-data-oanda': {
    slos: 'market-data-throughput, availability',
    venues: ['oanda'],
  },
  'risk-engine': { slos: 'risk-latency, availability', venues: [] },
  'trading-engine': { slos: 'api-latency, availability', venues: [] },
  'security-auth': { slos: 'auth-latency, availability', venues: [] },
  'deployment-orchestrator': { slos: 'api-latency, availability', venues: [] },
  monitoring: { slos: 'api-latency, availability', venues: [] },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];

function seconds(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main() {
  let t = Date.parse('2026-12-02T08:00:00Z');
  const specs = Array.from({ length: SERVICES }, (_, i) => {
    const base = DEFAULT_SERVICES[i % DEFAULT_SERVICES.length];
    return { ...base, name: `${base.name}-${i}` };
  });
  const simulator = new TradingSimulator({ services: specs, now: () => t });
  const services = specs.map(spec => {
    const base = spec.name.replace(/-\d+$/, '');
    return {
      name: spec.name,
      slos: parseSloAnnotation(declared[base].slos),
      venues: declared[base].venues,
      history: new ServiceHistory(),
      keys: [] as string[],
    };
  });

  process.stdout.write(
    `preparing ${SERVICES} services with ${HISTORY} scrapes of history each\n`,
  );
  const scrapeAll = async () => {
    const texts: string[] = [];
    for (const s of services) texts.push(await simulator.metrics(s.name));
    return texts;
  };
  /** Parses, reduces and keeps one scrape of every service taken at `now`. */
  const keep = (texts: string[], now: number) => {
    for (const [k, s] of services.entries()) {
      const o = observe(
        parseExposition(texts[k], s.name),
        s.slos,
        s.venues,
        now,
      );
      s.history.add(o);
      s.keys = Object.keys(o.counters);
    }
  };
  /** Judges every SLO of every service at `now`; counts the states. */
  const judgeAll = (now: number) => {
    const counted: Record<string, number> = {};
    for (const s of services) {
      for (const slo of s.slos) {
        const status = judgeSlo(
          slo,
          indicatorsFromHistory(slo, s.history, now, s.keys),
        );
        counted[status.state] = (counted[status.state] ?? 0) + 1;
      }
    }
    return counted;
  };
  const parseAll = (texts: string[]) => {
    for (const [k, s] of services.entries()) parseExposition(texts[k], s.name);
  };
  for (let i = 0; i < HISTORY; i++) {
    t += 5_000;
    keep(await scrapeAll(), t);
  }

  const parseOnly: number[] = [];
  const judged: number[] = [];
  const counts: Record<string, number>[] = [];
  for (let run = 0; run < RUNS; run++) {
    t += 5_000;
    const now = t;
    const texts = await scrapeAll();
    parseOnly.push(seconds(() => parseAll(texts)));
    judged.push(
      seconds(() => {
        keep(texts, now);
        counts.push(judgeAll(now));
      }),
    );
  }

  const range = (xs: number[]) => ({
    median: +median(xs).toFixed(4),
    min: +Math.min(...xs).toFixed(4),
    max: +Math.max(...xs).toFixed(4),
  });
  const judgedS = median(judged);
  const parseS = median(parseOnly);
  const cycle = verdict({
    figure: `judging ${SERVICES} services' SLOs from one scrape each`,
    value: +judgedS.toFixed(3),
    unit: 's',
    baseline: {
      name: 'parsing the same scrapes alone',
      value: +parseS.toFixed(3),
      unit: 's',
    },
    ratio: +(judgedS / parseS).toFixed(2),
    // One cycle must fit well within the 5 s scrape interval of the embedded default.
    goal: { op: '<', value: 1, unit: 's' },
  });
  writeBenchResults('health', {
    time: new Date().toISOString(),
    services: SERVICES,
    historyScrapes: HISTORY,
    runs: RUNS,
    judgeSeconds: range(judged),
    parseOnlySeconds: range(parseOnly),
    ratioJudgedVsParseOnly: cycle.ratio,
    perServiceMicroseconds: +((judgedS / SERVICES) * 1e6).toFixed(1),
    states: counts[counts.length - 1],
    verdicts: [cycle],
  });
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
