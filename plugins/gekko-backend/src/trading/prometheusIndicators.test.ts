import { parseSloAnnotation, SLO_WINDOWS } from '@gekko/plugin-gekko-common';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  errorRatioQuery,
  indicatorQuery,
  sloIndicatorsOf,
} from './prometheusIndicators';
import { generateSloRules, RecordingRule } from './rules/generateRules';
import { findTestBinary } from '../__testUtils__/binaries';

const promtool = findTestBinary(
  'promtool',
  'the throughput queries under promtool',
);
/** `describe`, or `describe.skip` where promtool is missing: its tests then count as skipped. */
const describeWithPromtool = promtool ? describe : describe.skip;

const matchers = ['job="order-execution"', 'namespace="gekko"'];
const [latency, availability] = parseSloAnnotation(
  'order-latency, availability',
);
const [throughput] = parseSloAnnotation('market-data-throughput');

describe('the queries of an SLO', () => {
  it('are the expressions of the generated recording rules, read from the raw series', () => {
    const records = generateSloRules([
      {
        name: 'order-execution',
        selector: '{job="order-execution",namespace="gekko"}',
        slos: [latency, availability],
        venues: [],
      },
    ]).groups[0].rules as RecordingRule[];
    const recorded = (record: string, slo: string) =>
      records.find(r => r.record === record && r.labels?.slo === slo)?.expr;
    for (const slo of [latency, availability]) {
      for (const w of SLO_WINDOWS) {
        expect(errorRatioQuery(slo, matchers, w)).toBe(
          recorded(`gekko:slo_errors:ratio_rate${w}`, slo.id),
        );
      }
    }
    expect(indicatorQuery(latency, matchers, '5m')).toBe(
      recorded('gekko:sli:p99_rate5m', latency.id),
    );
  });

  it('read no series as no indicators, and NaN (no traffic) as no value', () => {
    expect(sloIndicatorsOf([])).toBeUndefined();
    const indicators = sloIndicatorsOf([
      { labels: { gekko_indicator: 'series' }, value: 3 },
      { labels: { gekko_indicator: 'current' }, value: undefined },
      { labels: { gekko_indicator: 'ratio:5m' }, value: -1e-17 },
      { labels: { gekko_indicator: 'ratio:1h' }, value: 0.02 },
      { labels: { gekko_indicator: 'budget' }, value: 0.001 },
    ]);
    expect(indicators).toEqual({
      current: undefined,
      errorRatios: expect.objectContaining({
        '5m': 0,
        '1h': 0.02,
        '3d': undefined,
      }),
      budgetErrorRatio: 0.001,
    });
  });
});

/** Evaluates PromQL expressions over synthetic series with `promtool test rules`. */
function promtoolEval(
  inputSeries: { series: string; values: string }[],
  checks: { expr: string; at: string; value: number | undefined }[],
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-queries-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yml'), 'groups: []\n');
    fs.writeFileSync(
      path.join(dir, 'tests.yml'),
      JSON.stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '15s',
            input_series: inputSeries,
            promql_expr_test: checks.map(c => ({
              expr: c.expr,
              eval_time: c.at,
              exp_samples:
                c.value === undefined ? [] : [{ labels: '{}', value: c.value }],
            })),
          },
        ],
      }),
    );
    const run = spawnSync(promtool!, ['test', 'rules', 'tests.yml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    return `${run.stdout}${run.stderr}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describeWithPromtool('a throughput under promtool', () => {
  const counter =
    'gekko_market_data_updates_total{job="market-data-coinbase",venue="coinbase"}';
  const m = ['job="market-data-coinbase"'];
  /** `(expr) is within [low, high]`, as 1 or 0. */
  const within = (expr: string, low: number, high: number) =>
    `(${expr} >= bool ${low}) * (${expr} <= bool ${high})`;

  it('judges whole minutes only: none of a series younger than a minute, then the share of bad ones', () => {
    // Scraped every 15 s from 30 s on: 12,000 updates/s until 30 minutes, then 5,000/s
    // (the objective: 10,000/s).
    const output = promtoolEval(
      [
        {
          series: counter,
          values: `_x2 0+180000x118 21315000+75000x79`,
        },
      ],
      [
        // 45 s in: the series is 15 s old, its rate over a minute would read a quarter of it.
        {
          expr: indicatorQuery(throughput, m, '1m'),
          at: '45s',
          value: undefined,
        },
        {
          expr: errorRatioQuery(throughput, m, '5m'),
          at: '1m30s',
          value: undefined,
        },
        { expr: indicatorQuery(throughput, m, '1m'), at: '2m', value: 12_000 },
        { expr: errorRatioQuery(throughput, m, '5m'), at: '5m', value: 0 },
        { expr: errorRatioQuery(throughput, m, '30m'), at: '30m', value: 0 },
        // 15 bad minutes of the last 30 (or 31, by how the window's start is counted).
        {
          expr: within(errorRatioQuery(throughput, m, '30m'), 0.45, 0.55),
          at: '45m',
          value: 1,
        },
        { expr: errorRatioQuery(throughput, m, '5m'), at: '45m', value: 1 },
        // Over 3 days one minute in five is judged: 3 bad of the 9 at 5, 10, … 45 minutes.
        {
          expr: errorRatioQuery(throughput, m, '3d'),
          at: '45m',
          value: 3 / 9,
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  });
});
