import {
  DEFAULT_SLOS,
  parseSloAnnotation,
  SLO_WINDOWS,
} from '@gekko/plugin-gekko-common';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { tradingServicesFromCatalog } from './catalogRules';
import {
  AlertingRule,
  GENERATE_COMMAND,
  RecordingRule,
  RuleFile,
  TradingServiceRules,
  generateSloRules,
  latencyBucket,
  renderRuleFile,
} from './generateRules';
import { TRADING_ALERT_RULES } from './tradingAlertRules';
import { findTestBinary } from '../../__testUtils__/binaries';

const promtool = findTestBinary('promtool', 'promtool check/test rules');
/** `describe`, or `describe.skip` where promtool is missing: its tests then count as skipped. */
const describeWithPromtool = promtool ? describe : describe.skip;

const orderExecution: TradingServiceRules = {
  name: 'order-execution',
  selector: '{job="order-execution",namespace="gekko"}',
  slos: parseSloAnnotation('order-latency, availability>=99.95%'),
  venues: ['coinbase', 'oanda'],
};
const marketData: TradingServiceRules = {
  name: 'market-data-coinbase',
  selector: '{job="market-data-coinbase",namespace="gekko"}',
  slos: parseSloAnnotation('market-data-throughput'),
  venues: ['coinbase'],
};
const riskEngine: TradingServiceRules = {
  name: 'risk-engine',
  selector: '{job="risk-engine",namespace="gekko"}',
  slos: parseSloAnnotation('risk-latency<90ms'),
  venues: [],
};
const orderSelector = { job: 'order-execution', namespace: 'gekko' };

function rulesOf(ruleFile: RuleFile) {
  return ruleFile.groups.flatMap(g => g.rules);
}
function alertsOf(ruleFile: RuleFile) {
  return rulesOf(ruleFile).filter((r): r is AlertingRule => 'alert' in r);
}
function recordsOf(ruleFile: RuleFile) {
  return rulesOf(ruleFile).filter((r): r is RecordingRule => 'record' in r);
}

/** `metric{a="b",…}` for promtool's input series. */
function series(metric: string, labels: Record<string, string>): string {
  return `${metric}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

/** A counter in promtool's notation: from 0, growing `perStep` a step for `steps` steps, segment after segment. */
function counter(...segments: Array<[perStep: number, steps: number]>) {
  let value = 0;
  const parts = ['0'];
  for (const [perStep, steps] of segments) {
    parts.push(`${value + perStep}+${perStep}x${steps - 1}`);
    value += perStep * steps;
  }
  return parts.join(' ');
}

/** A latency histogram's series where, per minute, `total` requests come and `good` of them are at or under `le`. */
function latencySeries(
  metric: string,
  le: string,
  segments: Array<{ total: number; good: number; minutes: number }>,
) {
  return [
    {
      series: series(`${metric}_bucket`, { ...orderSelector, le }),
      values: counter(
        ...segments.map(s => [s.good, s.minutes] as [number, number]),
      ),
    },
    {
      series: series(`${metric}_count`, orderSelector),
      values: counter(
        ...segments.map(s => [s.total, s.minutes] as [number, number]),
      ),
    },
  ];
}

/** The rule file without annotations, for tests that look at labels only (promtool compares both). */
function withoutAnnotations(ruleFile: RuleFile, keep: string[] = []): RuleFile {
  return {
    groups: ruleFile.groups.map(g => ({
      ...g,
      rules: g.rules.map(r =>
        'alert' in r && !keep.includes(r.alert)
          ? ({ ...r, annotations: undefined } as unknown as AlertingRule)
          : r,
      ),
    })),
  };
}

/** Runs `promtool test rules` on `tests` (promtool's unit-test format) against the rule file. */
function promtoolTest(
  ruleFile: RuleFile,
  tests: object[],
  evaluationInterval = '1m',
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-rules-'));
  try {
    fs.writeFileSync(path.join(dir, 'rules.yml'), renderRuleFile(ruleFile));
    fs.writeFileSync(
      path.join(dir, 'tests.yml'),
      JSON.stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: evaluationInterval,
        tests,
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

const burn = (window: string, severity: string, slo = 'order-latency') => ({
  exp_labels: {
    severity,
    service: 'order-execution',
    slo,
    window,
  },
});

describe('generateSloRules', () => {
  const ruleFile = generateSloRules([orderExecution, marketData, riskEngine]);

  it('writes one group per service, and one for the portal', () => {
    expect(ruleFile.groups.map(g => g.name)).toEqual([
      'gekko-order-execution',
      'gekko-market-data-coinbase',
      'gekko-risk-engine',
      'gekko-portal',
    ]);
  });

  it('records the error ratio of every SLO over every burn-rate window, labelled by service and SLO', () => {
    expect(SLO_WINDOWS).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d']);
    const risk = recordsOf({ groups: [ruleFile.groups[2]] });
    expect(risk.map(r => r.record)).toEqual([
      ...SLO_WINDOWS.map(w => `gekko:slo_errors:ratio_rate${w}`),
      'gekko:sli:p99_rate5m',
    ]);
    for (const rule of recordsOf(ruleFile)) {
      expect(rule.labels).toEqual({
        service: expect.any(String),
        slo: expect.any(String),
      });
    }
    const availability = recordsOf(ruleFile).find(
      r => r.labels.slo === 'availability' && r.record.endsWith('rate1h'),
    );
    expect(availability?.expr).toBe(
      '(sum(rate(gekko_requests_total{job="order-execution",namespace="gekko",outcome="error"}[1h])) or vector(0)) / sum(rate(gekko_requests_total{job="order-execution",namespace="gekko"}[1h]))',
    );
    expect(
      recordsOf(ruleFile).find(r => r.record === 'gekko:sli:rate1m')?.expr,
    ).toBe(
      'sum(rate(gekko_market_data_updates_total{job="market-data-coinbase",namespace="gekko"}[1m])) and on() count(gekko_market_data_updates_total{job="market-data-coinbase",namespace="gekko"} offset 1m)',
    );
  });

  it('counts a limit between bucket boundaries at the boundary under it, and says so', () => {
    expect(latencyBucket(0.1)).toBe(0.1);
    expect(latencyBucket(0.09)).toBe(0.08);
    expect(latencyBucket(3)).toBe(2.5);
    expect(latencyBucket(0.0005)).toBeUndefined();
    const [first, ...others] = recordsOf({ groups: [ruleFile.groups[2]] });
    expect(first.expr).toBe(
      '1 - sum(rate(gekko_risk_calculation_duration_seconds_bucket{job="risk-engine",namespace="gekko",le="0.08"}[5m])) / sum(rate(gekko_risk_calculation_duration_seconds_count{job="risk-engine",namespace="gekko"}[5m]))',
    );
    expect(first.comment).toMatch(
      /limit 0\.09 s is not a bucket boundary.*at or under 0\.08 s/s,
    );
    expect(renderRuleFile(ruleFile)).toContain(
      '      # risk-latency: the limit 0.09 s is not a bucket boundary',
    );
    expect(others.every(r => r.comment === undefined)).toBe(true);
    const onBoundary = recordsOf({ groups: [ruleFile.groups[0]] })[0];
    expect(onBoundary.expr).toContain('le="0.1"');
    expect(onBoundary.comment).toBeUndefined();
  });

  it('matches an integral boundary however the client writes it', () => {
    const slow = generateSloRules([
      { ...riskEngine, slos: parseSloAnnotation('risk-latency<1.2s') },
    ]);
    expect(recordsOf(slow)[0].expr).toContain('le=~"1(\\\\.0)?"');
  });

  it('refuses a limit under the smallest bucket, naming the service and SLO', () => {
    expect(() =>
      generateSloRules([
        { ...riskEngine, slos: parseSloAnnotation('risk-latency<0.5ms') },
      ]),
    ).toThrow(
      "risk-engine: risk-latency's limit of 0.0005 s is under the smallest histogram bucket (0.001 s)",
    );
  });

  it('pages on the fast burn-rate pairs and tickets on the slow ones, without for:', () => {
    const burns = alertsOf(ruleFile).filter(
      a =>
        a.alert === 'GekkoSloErrorBudgetBurn' &&
        a.labels.service === 'order-execution' &&
        a.labels.slo === 'availability',
    );
    expect(burns.map(a => [a.labels.window, a.labels.severity, a.for])).toEqual(
      [
        ['1h/5m', 'critical', undefined],
        ['6h/30m', 'critical', undefined],
        ['1d/2h', 'warning', undefined],
        ['3d/6h', 'warning', undefined],
      ],
    );
    expect(burns[0].expr).toBe(
      'gekko:slo_errors:ratio_rate1h{service="order-execution",slo="availability"} > (14.4 * (1 - 0.9995))\n' +
        'and\n' +
        'gekko:slo_errors:ratio_rate5m{service="order-execution",slo="availability"} > (14.4 * (1 - 0.9995))',
    );
  });

  it('writes venue, risk, memory, anomaly, predicted latency and accuracy alerts per service, and the GPU worker and GPU memory alerts for the portal', () => {
    const names = (group: number) =>
      alertsOf({ groups: [ruleFile.groups[group]] })
        .map(a => a.alert)
        .filter(a => a !== 'GekkoSloErrorBudgetBurn');
    expect(names(0)).toEqual([
      'GekkoLatencyAnomaly',
      'GekkoLatencyBreachPredicted',
      'GekkoVenueDisconnected',
      'GekkoVenueSilent',
      'GekkoVenueDisconnected',
      'GekkoVenueSilent',
      'GekkoRiskLimitBreach',
      'GekkoRiskLimitNear',
      'GekkoMemoryExhaustionPredicted',
      'GekkoModelAccuracyDrop',
    ]);
    expect(names(3)).toEqual([
      'GekkoGpuWorkerDown',
      'GekkoDeploymentFinished',
      'GekkoGpuMemoryExhaustionPredicted',
    ]);
    const venue = alertsOf(ruleFile).find(
      a => a.alert === 'GekkoVenueDisconnected',
    );
    expect(venue?.expr).toBe(
      'gekko_venue_connected{job="order-execution",namespace="gekko",venue="coinbase"} == 0',
    );
    expect(venue?.labels).toEqual({
      severity: 'critical',
      service: 'order-execution',
      venue: 'coinbase',
    });
  });

  it('gives every alert a severity, a service, a summary and a description, as TRADING_ALERT_RULES lists them', () => {
    const listed = Object.values(TRADING_ALERT_RULES).map(r => [
      r.name,
      r.severity,
      'for' in r ? r.for : undefined,
    ]);
    for (const alert of alertsOf(ruleFile)) {
      expect(listed).toContainEqual([
        alert.alert,
        alert.labels.severity,
        alert.for,
      ]);
      expect(alert.labels.service).toEqual(expect.any(String));
      expect(alert.annotations.summary).not.toBe('');
      expect(alert.annotations.description).not.toBe('');
    }
    const generated = new Set(alertsOf(ruleFile).map(a => a.alert));
    const forPrometheus = Object.values(TRADING_ALERT_RULES).filter(
      r => !('backendOnly' in r),
    );
    expect([...generated].sort()).toEqual(
      [...new Set(forPrometheus.map(r => r.name))].sort(),
    );
  });

  it('refuses a selector that is not one, and a service listed twice', () => {
    expect(() =>
      generateSloRules([{ ...riskEngine, selector: 'job=risk-engine' }]),
    ).toThrow('"job=risk-engine" is not a Prometheus label selector');
    expect(() =>
      generateSloRules([{ ...riskEngine, selector: '{job=risk-engine}' }]),
    ).toThrow('"job=risk-engine" is not a matcher');
    expect(() => generateSloRules([riskEngine, riskEngine])).toThrow(
      'two rule groups would be named "gekko-risk-engine"',
    );
  });

  it('renders YAML that reads back as the rule file, under a header naming the command', () => {
    const text = renderRuleFile(ruleFile);
    expect(text).toMatch(
      /^# Generated by .*\n(#.*\n)*# {3}plugins\/gekko-backend\/bin\/gekko-rules --catalog catalog-info.yaml --out deploy\/prometheus\/rules\/gekko-slos.yml\n/,
    );
    const strip = (file: RuleFile) =>
      JSON.parse(
        JSON.stringify(file, (k, v) => (k === 'comment' ? undefined : v)),
      );
    expect(YAML.parse(text)).toEqual(strip(ruleFile));
  });

  it('is what deploy/prometheus/rules/gekko-slos.yml holds for the repository catalog', () => {
    const root = path.resolve(__dirname, '../../../../..');
    const committed = path.join(root, 'deploy/prometheus/rules/gekko-slos.yml');
    const entities = YAML.parseAllDocuments(
      fs.readFileSync(path.join(root, 'catalog-info.yaml'), 'utf8'),
    ).map(d => d.toJS());
    const expected = renderRuleFile(
      generateSloRules(tradingServicesFromCatalog(entities)),
    );
    const actual = fs.existsSync(committed)
      ? fs.readFileSync(committed, 'utf8')
      : '(missing)';
    expect(
      actual === expected
        ? 'up to date'
        : `not what catalog-info.yaml gives: run ${GENERATE_COMMAND}`,
    ).toBe('up to date');
  });
});

describeWithPromtool('the generated rules under promtool', () => {
  const fixture = generateSloRules([orderExecution, marketData, riskEngine]);

  it('pass promtool check rules', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-rules-'));
    const file = path.join(dir, 'rules.yml');
    fs.writeFileSync(file, renderRuleFile(fixture));
    const run = spawnSync(promtool!, ['check', 'rules', file], {
      encoding: 'utf8',
    });
    fs.rmSync(dir, { recursive: true, force: true });
    expect(`${run.stdout}${run.stderr}`).toContain(
      `SUCCESS: ${rulesOf(fixture).length} rules found`,
    );
    expect(run.status).toBe(0);
  });

  const orderLatency = [
    {
      ...orderExecution,
      slos: [DEFAULT_SLOS['order-latency']],
      venues: [],
    },
  ];
  const metric = 'gekko_order_execution_duration_seconds';

  it('page within 46 minutes when 20 % of orders are slow, and stay silent at 0.1 %', () => {
    const healthy = { total: 1000, good: 999 };
    const output = promtoolTest(
      withoutAnnotations(generateSloRules(orderLatency)),
      [
        {
          interval: '1m',
          input_series: latencySeries(metric, '0.1', [
            { ...healthy, minutes: 360 },
            { total: 1000, good: 800, minutes: 120 },
          ]),
          alert_rule_test: [
            {
              eval_time: '6h',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [],
            },
            // The 3d/6h ticket pair (1 × budget) is crossed first, after about 17 minutes.
            {
              eval_time: '6h40m',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [burn('3d/6h', 'warning')],
            },
            // 1h/5m needs 14.4 % over the hour: 14.4 / 20 of an hour, 43 minutes.
            {
              eval_time: '6h46m',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [burn('1h/5m', 'critical'), burn('3d/6h', 'warning')],
            },
            {
              eval_time: '8h',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [
                burn('1h/5m', 'critical'),
                burn('6h/30m', 'critical'),
                burn('1d/2h', 'warning'),
                burn('3d/6h', 'warning'),
              ],
            },
          ],
        },
        {
          interval: '1m',
          input_series: latencySeries(metric, '0.1', [
            { ...healthy, minutes: 480 },
          ]),
          alert_rule_test: ['1h', '6h', '8h'].map(t => ({
            eval_time: t,
            alertname: 'GekkoSloErrorBudgetBurn',
            exp_alerts: [],
          })),
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('ticket a slow burn (2 % slow orders, burn rate 2) on the 3d/6h pair only', () => {
    // A day at 0.1 %, then 2 %: the 3-day ratio (over the data there is) crosses 1 % after
    // about 1d22h; 1d/2h needs 3 %, the page pairs 6 % and 14.4 %.
    const output = promtoolTest(
      withoutAnnotations(generateSloRules(orderLatency)),
      [
        {
          interval: '1m',
          input_series: latencySeries(metric, '0.1', [
            { total: 1000, good: 999, minutes: 1440 },
            { total: 1000, good: 980, minutes: 1440 },
          ]),
          alert_rule_test: [
            {
              eval_time: '1d20h',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [],
            },
            {
              eval_time: '1d23h',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [burn('3d/6h', 'warning')],
            },
          ],
        },
      ],
      // Evaluated every 5 minutes: 3 s under promtool, against 9 s every minute.
      '5m',
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('count bad minutes of throughput once the rate drops under the threshold, and page', () => {
    const selector = {
      job: 'market-data-coinbase',
      namespace: 'gekko',
      venue: 'coinbase',
    };
    const labels = {
      service: 'market-data-coinbase',
      slo: 'market-data-throughput',
    };
    const ratio = (w: string) =>
      series(`gekko:slo_errors:ratio_rate${w}`, labels);
    // Scraped every 15 s: 12,000 updates/s for 30 minutes, then 5,000/s (threshold: 10,000/s).
    const output = promtoolTest(
      withoutAnnotations(generateSloRules([marketData])),
      [
        {
          interval: '15s',
          input_series: [
            {
              series: series('gekko_market_data_updates_total', selector),
              values: counter([180_000, 120], [75_000, 80]),
            },
          ],
          promql_expr_test: [
            {
              expr: ratio('30m'),
              eval_time: '30m',
              exp_samples: [{ labels: ratio('30m'), value: 0 }],
            },
            {
              expr: ratio('5m'),
              eval_time: '45m',
              exp_samples: [{ labels: ratio('5m'), value: 1 }],
            },
            {
              // 15 bad minutes of the last 30 (or 31, by how the window's start is counted).
              expr: `(${ratio('30m')} > bool 0.45) * (${ratio(
                '30m',
              )} < bool 0.55)`,
              eval_time: '45m',
              exp_samples: [{ labels: series('', labels), value: 1 }],
            },
          ],
          alert_rule_test: [
            {
              eval_time: '30m',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [],
            },
            {
              eval_time: '45m',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [
                ['1h/5m', 'critical'],
                ['6h/30m', 'critical'],
                ['1d/2h', 'warning'],
                ['3d/6h', 'warning'],
              ].map(([window, severity]) => ({
                exp_labels: { severity, ...labels, window },
              })),
            },
          ],
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('report a venue disconnected after 30 s, and not before', () => {
    const ruleFile = generateSloRules([orderExecution]);
    const disconnected = alertsOf(ruleFile).find(
      a => a.alert === 'GekkoVenueDisconnected',
    )!;
    const labels = {
      ...orderSelector,
      venue: 'coinbase',
      protocol: 'WebSocket',
    };
    // Connected for 10 minutes, then down from 610 s; the last message arrives at 600 s.
    const output = promtoolTest(
      withoutAnnotations(ruleFile, ['GekkoVenueDisconnected']),
      [
        {
          interval: '10s',
          input_series: [
            {
              series: series('gekko_venue_connected', labels),
              values: '1x60 0x60',
            },
            {
              series: series('gekko_venue_last_message_timestamp_seconds', {
                ...orderSelector,
                venue: 'coinbase',
              }),
              values: '0+10x60 600x60',
            },
          ],
          alert_rule_test: [
            {
              eval_time: '630s',
              alertname: 'GekkoVenueDisconnected',
              exp_alerts: [],
            },
            {
              eval_time: '650s',
              alertname: 'GekkoVenueDisconnected',
              exp_alerts: [
                {
                  exp_labels: {
                    ...labels,
                    severity: 'critical',
                    service: 'order-execution',
                  },
                  exp_annotations: disconnected.annotations,
                },
              ],
            },
            // 30 s without a message from 630 s on, for 30 s more.
            {
              eval_time: '660s',
              alertname: 'GekkoVenueSilent',
              exp_alerts: [],
            },
            {
              eval_time: '680s',
              alertname: 'GekkoVenueSilent',
              exp_alerts: [
                {
                  exp_labels: {
                    ...orderSelector,
                    venue: 'coinbase',
                    severity: 'critical',
                    service: 'order-execution',
                  },
                },
              ],
            },
          ],
        },
      ],
      '10s',
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('predict memory exhaustion an hour ahead, before memory reaches the limit, and not for flat memory', () => {
    const MiB = 1024 * 1024;
    const growing = { ...orderSelector, instance: 'order-execution-0:8080' };
    const flat = { ...orderSelector, instance: 'order-execution-1:8080' };
    // 100 MiB growing 5 MiB a minute against a 1000 MiB limit: an hour ahead is over it from
    // 120 minutes on (at 700 MiB); memory itself would cross it at 180 minutes.
    const output = promtoolTest(
      withoutAnnotations(generateSloRules([orderExecution])),
      [
        {
          interval: '1m',
          input_series: [
            {
              series: series('process_resident_memory_bytes', growing),
              values: `${100 * MiB}+${5 * MiB}x200`,
            },
            {
              series: series('process_resident_memory_bytes', flat),
              values: `${900 * MiB}x200`,
            },
            {
              series: series('gekko_memory_limit_bytes', growing),
              values: `${1000 * MiB}x200`,
            },
            {
              series: series('gekko_memory_limit_bytes', flat),
              values: `${1000 * MiB}x200`,
            },
          ],
          alert_rule_test: [
            {
              eval_time: '120m',
              alertname: 'GekkoMemoryExhaustionPredicted',
              exp_alerts: [],
            },
            {
              eval_time: '130m',
              alertname: 'GekkoMemoryExhaustionPredicted',
              exp_alerts: [
                {
                  exp_labels: {
                    ...growing,
                    severity: 'warning',
                    service: 'order-execution',
                  },
                },
              ],
            },
          ],
          promql_expr_test: [
            {
              expr: series('process_resident_memory_bytes', growing),
              eval_time: '130m',
              exp_samples: [
                {
                  labels: series('process_resident_memory_bytes', growing),
                  value: 750 * MiB,
                },
              ],
            },
          ],
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('predict a latency breach an hour ahead while the p99 still meets its limit, and not for a flat p99', () => {
    const rising = { service: 'order-execution', slo: 'order-latency' };
    const flat = { service: 'order-execution', slo: 'order-latency-flat' };
    // p99 50 ms rising 1 ms a minute: an hour ahead it is over 100 ms from the second minute on,
    // so the alert fires after its 5 minutes, while the p99 itself is still ~57 ms; once the p99
    // is over the limit (at 50 minutes) the burn-rate alerts take over and this one resolves.
    const output = promtoolTest(
      withoutAnnotations(generateSloRules([orderExecution])),
      [
        {
          interval: '1m',
          input_series: [
            {
              series: series('gekko:sli:p99_rate5m', rising),
              values: '0.05+0.001x70',
            },
            { series: series('gekko:sli:p99_rate5m', flat), values: '0.06x70' },
          ],
          alert_rule_test: [
            {
              eval_time: '4m',
              alertname: 'GekkoLatencyBreachPredicted',
              exp_alerts: [],
            },
            {
              eval_time: '10m',
              alertname: 'GekkoLatencyBreachPredicted',
              exp_alerts: [{ exp_labels: { ...rising, severity: 'warning' } }],
            },
            {
              eval_time: '60m',
              alertname: 'GekkoLatencyBreachPredicted',
              exp_alerts: [],
            },
          ],
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('predict a GPU running out of memory an hour ahead, and not a steady one', () => {
    const growing = { pool: 'cuda-primary', worker: 'w1', gpu: '0' };
    const steady = { pool: 'cuda-primary', worker: 'w2', gpu: '0' };
    // 10,000 MiB used of 81,920, growing 1,000 MiB a minute: an hour ahead it is over the total
    // from minute 12 on (the GPU itself would be full at minute 72).
    const output = promtoolTest(withoutAnnotations(generateSloRules([])), [
      {
        interval: '1m',
        input_series: [
          {
            series: series('DCGM_FI_DEV_FB_USED', growing),
            values: '10000+1000x30',
          },
          {
            series: series('DCGM_FI_DEV_FB_FREE', growing),
            values: '71920-1000x30',
          },
          { series: series('DCGM_FI_DEV_FB_USED', steady), values: '40000x30' },
          { series: series('DCGM_FI_DEV_FB_FREE', steady), values: '41920x30' },
        ],
        alert_rule_test: [
          {
            eval_time: '11m',
            alertname: 'GekkoGpuMemoryExhaustionPredicted',
            exp_alerts: [],
          },
          {
            eval_time: '18m',
            alertname: 'GekkoGpuMemoryExhaustionPredicted',
            exp_alerts: [
              {
                exp_labels: {
                  ...growing,
                  severity: 'warning',
                  service: 'gekko-portal',
                },
              },
            ],
          },
        ],
      },
    ]);
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('warn near the risk limit after 5 minutes, and page at once when exposure is over it', () => {
    const ruleFile = generateSloRules([riskEngine]);
    const breach = alertsOf(ruleFile).find(
      a => a.alert === 'GekkoRiskLimitBreach',
    )!;
    const target = { job: 'risk-engine', namespace: 'gekko' };
    const labels = (severity: string) => ({
      ...target,
      severity,
      service: 'risk-engine',
    });
    const output = promtoolTest(
      withoutAnnotations(ruleFile, ['GekkoRiskLimitBreach']),
      [
        {
          interval: '1m',
          input_series: [
            {
              series: series('gekko_risk_exposure_usd', target),
              values: '6000000x10 9500000x10 12000000x10',
            },
            {
              series: series('gekko_risk_exposure_limit_usd', target),
              values: '10000000x30',
            },
          ],
          alert_rule_test: [
            {
              eval_time: '14m',
              alertname: 'GekkoRiskLimitNear',
              exp_alerts: [],
            },
            {
              eval_time: '18m',
              alertname: 'GekkoRiskLimitNear',
              exp_alerts: [{ exp_labels: labels('warning') }],
            },
            {
              eval_time: '18m',
              alertname: 'GekkoRiskLimitBreach',
              exp_alerts: [],
            },
            {
              eval_time: '22m',
              alertname: 'GekkoRiskLimitBreach',
              exp_alerts: [
                {
                  exp_labels: labels('critical'),
                  exp_annotations: {
                    ...breach.annotations,
                    description: breach.annotations.description.replace(
                      '{{ $value | humanize }}',
                      '12M',
                    ),
                  },
                },
              ],
            },
            // Over the limit is a breach, no longer "near".
            {
              eval_time: '22m',
              alertname: 'GekkoRiskLimitNear',
              exp_alerts: [],
            },
          ],
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('flag a p99 that jumps far above its usual level before the SLO is breached', () => {
    // 1,000 orders a minute, all under 10 ms for 2 hours; then all between 10 and 50 ms.
    const bucket = (le: string, perMinute: [number, number]) => ({
      series: series(`${metric}_bucket`, { ...orderSelector, le }),
      values: counter([perMinute[0], 120], [perMinute[1], 30]),
    });
    const output = promtoolTest(
      withoutAnnotations(generateSloRules(orderLatency)),
      [
        {
          interval: '1m',
          input_series: [
            bucket('0.01', [1000, 0]),
            bucket('0.05', [1000, 1000]),
            bucket('0.1', [1000, 1000]),
            bucket('+Inf', [1000, 1000]),
            {
              series: series(`${metric}_count`, orderSelector),
              values: counter([1000, 150]),
            },
          ],
          alert_rule_test: [
            {
              eval_time: '2h',
              alertname: 'GekkoLatencyAnomaly',
              exp_alerts: [],
            },
            {
              eval_time: '2h8m',
              alertname: 'GekkoLatencyAnomaly',
              exp_alerts: [
                {
                  exp_labels: {
                    severity: 'warning',
                    service: 'order-execution',
                    slo: 'order-latency',
                  },
                },
              ],
            },
            {
              eval_time: '2h8m',
              alertname: 'GekkoSloErrorBudgetBurn',
              exp_alerts: [],
            },
          ],
        },
      ],
    );
    expect(output).toContain('SUCCESS');
  }, 60_000);

  it('report a GPU pool that lost a worker, but not a worker replaced under a new id', () => {
    const worker = (pool: string, id: string) =>
      series('gekko_worker_up', {
        pool,
        worker: id,
        accelerator: 'cuda',
        transport: 'nats',
      });
    const down = (pool: string) => ({
      exp_labels: { severity: 'critical', service: 'gekko-portal', pool },
    });
    const output = promtoolTest(withoutAnnotations(generateSloRules([])), [
      {
        interval: '1m',
        input_series: [
          { series: worker('cuda-primary', 'w1'), values: '1x40' },
          // Dies at 21 minutes.
          { series: worker('cuda-primary', 'w2'), values: '1x20 stale' },
          // Restarts at 20 minutes under a new id.
          { series: worker('cuda-secondary', 'w3'), values: '1x20 stale' },
          { series: worker('cuda-secondary', 'w4'), values: '_x20 1x20' },
          // The pool's only worker dies.
          { series: worker('cpu-dr', 'w5'), values: '1x20 stale' },
        ],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'GekkoGpuWorkerDown',
            exp_alerts: [],
          },
          {
            eval_time: '23m',
            alertname: 'GekkoGpuWorkerDown',
            exp_alerts: [down('cuda-primary'), down('cpu-dr')],
          },
          {
            eval_time: '35m',
            alertname: 'GekkoGpuWorkerDown',
            exp_alerts: [],
          },
        ],
      },
    ]);
    expect(output).toContain('SUCCESS');
  }, 60_000);
});
