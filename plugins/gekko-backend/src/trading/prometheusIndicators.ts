import {
  BusinessMetrics,
  durationSeconds,
  GEKKO_ANNOTATIONS,
  SLO_WINDOW_SECONDS,
  SLO_WINDOWS,
  SloDefinition,
  TRADING_METRICS,
} from '@gekko/plugin-gekko-common';
import type { SloIndicators } from './judgeSlo';
import {
  PrometheusClient,
  PrometheusError,
  PrometheusSample,
} from './PrometheusClient';
import {
  latencyBucket,
  leMatcher,
  selectorMatchers,
  series,
  throughputRate,
} from './rules/generateRules';

/** The label that tells the parts of one combined query apart. */
const TAG = 'gekko_indicator';
const BUDGET_WINDOW = `${SLO_WINDOW_SECONDS / 86_400}d`;
/**
 * A throughput's bad minutes are counted one by one up to a day. Over longer windows (3 days, the
 * 30-day budget) one minute in five is judged: the same share of bad minutes, estimated from a
 * fifth of them, at a fifth of the cost of re-evaluating tens of thousands of minutes each cycle.
 */
const EVERY_MINUTE_UP_TO_SECONDS = 86_400;

/** `label_replace(expr, "gekko_indicator", key, "", "") or …`: one query, parts told apart. */
function tagged(parts: Array<[key: string, expr: string]>): string {
  return parts
    .map(([key, expr]) => `label_replace(${expr}, "${TAG}", "${key}", "", "")`)
    .join('\nor\n');
}

/**
 * The error ratio of an SLO over a window, as the generated rules record it
 * (`gekko:slo_errors:ratio_rate<window>`), but from the raw series so no rule needs to be loaded.
 */
export function errorRatioQuery(
  slo: SloDefinition,
  matchers: string[],
  window: string,
): string {
  if (slo.kind === 'latency') {
    const bucket = latencyBucket(slo.threshold);
    if (bucket === undefined) {
      throw new Error(
        `${slo.id}'s limit of ${slo.threshold} s is under the smallest histogram bucket`,
      );
    }
    return `1 - sum(rate(${series(
      `${slo.metric}_bucket`,
      matchers,
      leMatcher(bucket),
    )}[${window}])) / sum(rate(${series(
      `${slo.metric}_count`,
      matchers,
    )}[${window}]))`;
  }
  if (slo.kind === 'availability') {
    const requests = (...extra: string[]) =>
      `sum(rate(${series(slo.metric, matchers, ...extra)}[${window}]))`;
    return `(${requests('outcome="error"')} or vector(0)) / ${requests()}`;
  }
  const step =
    durationSeconds(window) <= EVERY_MINUTE_UP_TO_SECONDS ? '1m' : '5m';
  return `avg_over_time((${indicatorQuery(slo, matchers, '1m')} < bool ${
    slo.threshold
  })[${window}:${step}])`;
}

/**
 * The indicator of an SLO over a window: p99 seconds (latency, as `gekko:sli:p99_rate5m` over
 * 5 min), updates per second (throughput), or the good ratio (availability).
 */
export function indicatorQuery(
  slo: SloDefinition,
  matchers: string[],
  window: string,
): string {
  if (slo.kind === 'latency') {
    return `histogram_quantile(0.99, sum by (le) (rate(${series(
      `${slo.metric}_bucket`,
      matchers,
    )}[${window}])))`;
  }
  if (slo.kind === 'throughput') {
    return `(${throughputRate(slo.metric, matchers, window)})`;
  }
  return `1 - (${errorRatioQuery(slo, matchers, window)})`;
}

/** One query for all an SLO is judged on: the indicator now, each window's error ratio, the budget. */
export function sloIndicatorsQuery(
  slo: SloDefinition,
  matchers: string[],
): string {
  const counted = slo.kind === 'latency' ? `${slo.metric}_count` : slo.metric;
  return tagged([
    ['series', `count(${series(counted, matchers)})`],
    [
      'current',
      indicatorQuery(slo, matchers, slo.kind === 'throughput' ? '1m' : '5m'),
    ],
    ...SLO_WINDOWS.map(
      w =>
        [`ratio:${w}`, errorRatioQuery(slo, matchers, w)] as [string, string],
    ),
    ['budget', errorRatioQuery(slo, matchers, BUDGET_WINDOW)],
  ]);
}

const ratio = (v: number | undefined) =>
  v === undefined ? undefined : Math.min(1, Math.max(0, v));

/** The indicators from the answer to {@link sloIndicatorsQuery}; undefined when no series matched. */
export function sloIndicatorsOf(
  samples: PrometheusSample[],
): SloIndicators | undefined {
  if (!samples.some(s => s.labels[TAG] === 'series')) return undefined;
  const value = (key: string) =>
    samples.find(s => s.labels[TAG] === key)?.value;
  const errorRatios: Record<string, number | undefined> = {};
  for (const w of SLO_WINDOWS) errorRatios[w] = ratio(value(`ratio:${w}`));
  return {
    current: value('current'),
    errorRatios,
    budgetErrorRatio: ratio(value('budget')),
  };
}

/** What a service's SLOs, venues and business metrics read from Prometheus at one moment. */
export interface PrometheusReading {
  /** Epoch ms the queries were evaluated at. */
  at: number;
  /** Epoch ms of Prometheus's newest scrape of the service (`up`). */
  observedAt?: number;
  /** Per SLO id: its indicators, or why there are none. */
  slos: Record<string, { indicators: SloIndicators } | { reason: string }>;
  /** Per venue: the connection gauge and the last message time (Unix seconds). */
  venues: Record<string, { connected?: number; last?: number }>;
  business: BusinessMetrics;
  /** What went wrong, and what to fix. */
  errors: string[];
}

/** A trading service as far as reading it from Prometheus goes. */
export interface PrometheusTarget {
  name: string;
  /** `gekko.io/prometheus-selector`; absent, `{job="<name>"}`. */
  selector?: string;
  slos: SloDefinition[];
  venues: string[];
}

const SELECTOR = GEKKO_ANNOTATIONS.prometheusSelector;

/** A service's selector: its annotation, or `{job="<name>"}` as the generated rules default it. */
export function selectorOf(target: PrometheusTarget): string {
  return target.selector ?? `{job="${target.name}"}`;
}

/** The matchers of a service's selector; an Error naming the annotation when it is none. */
export function matchersOf(target: PrometheusTarget): string[] {
  try {
    return selectorMatchers(selectorOf(target));
  } catch (error) {
    throw new Error(
      `${target.name}: annotation ${SELECTOR}: ${(error as Error).message}`,
    );
  }
}

/** What an error of a query means for one service, in words that say what to fix. */
function explain(target: PrometheusTarget, error: unknown): string {
  if (error instanceof PrometheusError && error.reason === 'rejected') {
    // Where in the portal's query the parser stopped means nothing to whoever fixes the selector.
    const detail = (error.detail ?? '')
      .replace(/^invalid parameter "query": /, '')
      .replace(/^\d+:\d+: /, '');
    return `${
      target.name
    }: Prometheus rejected the query built from its ${SELECTOR} annotation ${selectorOf(
      target,
    )} (${detail}); fix the annotation`;
  }
  return (error as Error).message;
}

function serviceStateQuery(target: PrometheusTarget, matchers: string[]) {
  const m = (metric: string, ...extra: string[]) =>
    series(metric, matchers, ...extra);
  const venues = target.venues.length
    ? `venue=~${JSON.stringify(target.venues.join('|'))}`
    : undefined;
  const parts: Array<[string, string]> = [
    ['targets', `count(${m('up')})`],
    ['down', `count(${m('up')} == 0)`],
    ['scraped', `max(timestamp(${m('up')}))`],
    ['volume', `sum(rate(${m(TRADING_METRICS.tradingVolume)}[1m]))`],
    ['pnl', `sum(${m(TRADING_METRICS.pnl)})`],
    ['accuracy', `sum(${m(TRADING_METRICS.modelAccuracy)})`],
    ['exposure', `sum(${m(TRADING_METRICS.riskExposure)})`],
    ['exposureLimit', `sum(${m(TRADING_METRICS.riskExposureLimit)})`],
  ];
  if (venues) {
    parts.push(
      [
        'connected',
        `sum by (venue) (${m(TRADING_METRICS.venueConnected, venues)})`,
      ],
      [
        'last',
        `max by (venue) (${m(TRADING_METRICS.venueLastMessage, venues)})`,
      ],
    );
  }
  return tagged(parts);
}

/**
 * Reads one service from Prometheus at `at` (epoch ms): one query per SLO and one for its venues
 * and business metrics. Never throws: what fails is in the reading's errors and SLO reasons.
 */
export async function readFromPrometheus(
  client: PrometheusClient,
  target: PrometheusTarget,
  at: number,
): Promise<PrometheusReading> {
  const reading: PrometheusReading = {
    at,
    slos: {},
    venues: {},
    business: {},
    errors: [],
  };
  const errors = new Set<string>();
  let unscraped: string | undefined;
  let matchers: string[];
  try {
    matchers = matchersOf(target);
  } catch (error) {
    const reason = (error as Error).message;
    for (const slo of target.slos) reading.slos[slo.id] = { reason };
    reading.errors.push(reason);
    return reading;
  }

  const slos = target.slos.map(async slo => {
    try {
      const indicators = sloIndicatorsOf(
        await client.query(sloIndicatorsQuery(slo, matchers), at),
      );
      if (!indicators) {
        reading.slos[slo.id] = {
          reason: `no series of ${slo.metric} match ${selectorOf(
            target,
          )} in Prometheus: check the ${SELECTOR} annotation, and that Prometheus scrapes the service`,
        };
      } else if (
        slo.kind === 'throughput' &&
        indicators.current === undefined &&
        Object.values(indicators.errorRatios).every(r => r === undefined)
      ) {
        reading.slos[slo.id] = {
          reason: `Prometheus holds less than a minute of ${
            slo.metric
          } matching ${selectorOf(
            target,
          )}: its rate is judged once a whole minute is there`,
        };
      } else {
        reading.slos[slo.id] = { indicators };
      }
    } catch (error) {
      const reason = explain(target, error);
      errors.add(reason);
      reading.slos[slo.id] = { reason };
    }
  });
  const state = (async () => {
    try {
      const samples = await client.query(
        serviceStateQuery(target, matchers),
        at,
      );
      const value = (key: string) =>
        samples.find(s => s.labels[TAG] === key)?.value;
      const scraped = value('scraped');
      reading.observedAt = scraped === undefined ? undefined : scraped * 1000;
      const targets = value('targets');
      const down = value('down');
      const selector = selectorOf(target);
      const see = "see them on Prometheus's /targets page";
      if (targets && down === targets) {
        unscraped = `Prometheus cannot scrape ${target.name}: every target matching ${selector} is down (up is 0); ${see}`;
      } else if (targets && down) {
        errors.add(
          `${down} of the ${targets} targets of ${target.name} matching ${selector} are down (up is 0); ${see}`,
        );
      }
      for (const s of samples) {
        const venue = s.labels.venue;
        const key = s.labels[TAG];
        if (!venue || (key !== 'connected' && key !== 'last')) continue;
        (reading.venues[venue] ??= {})[key] = s.value;
      }
      reading.business = {
        volumeUsdPerSecond: value('volume'),
        pnlUsd: value('pnl'),
        modelAccuracy: value('accuracy'),
        riskExposureUsd: value('exposure'),
        riskExposureLimitUsd: value('exposureLimit'),
      };
    } catch (error) {
      errors.add(explain(target, error));
    }
  })();
  await Promise.all([...slos, state]);
  if (unscraped) {
    // Its series hold the minutes before the scrapes failed: no judgement of now.
    for (const slo of target.slos) reading.slos[slo.id] = { reason: unscraped };
    reading.venues = {};
    reading.business = {};
    errors.add(unscraped);
  }
  reading.errors.push(...errors);
  return reading;
}

/**
 * An SLO's indicator per step from `start` to `end` (epoch ms), for the charts, from a range query.
 * Each point covers its step, or a minute where the step is shorter, so that a rate has samples
 * at Prometheus's usual scrape intervals.
 */
export async function seriesFromPrometheus(
  client: PrometheusClient,
  target: PrometheusTarget,
  slo: SloDefinition,
  start: number,
  end: number,
  stepMs: number,
): Promise<{ t: string; value: number | null }[]> {
  const window = `${Math.max(60, Math.round(stepMs / 1000))}s`;
  const result = await client.queryRange(
    indicatorQuery(slo, matchersOf(target), window),
    start,
    end,
    stepMs / 1000,
  );
  const byStep = new Map(
    (result[0]?.points ?? []).map(([t, v]) => [
      Math.round((t - start) / stepMs),
      v,
    ]),
  );
  const points: { t: string; value: number | null }[] = [];
  for (let i = 0; start + i * stepMs <= end; i++) {
    points.push({
      t: new Date(start + i * stepMs).toISOString(),
      value: byStep.get(i) ?? null,
    });
  }
  return points;
}
