import {
  AlertSeverity,
  BURN_RATE_WINDOWS,
  durationSeconds,
  TradingAlert,
} from '@gekko/plugin-gekko-common';
import { createHash } from 'node:crypto';
import { indicatorSeries, indicatorsFromHistory } from './historyIndicators';
import { firingBurnPairs } from './judgeSlo';
import {
  TRADING_ALERT_RULES as RULES,
  TradingAlertRule,
} from './rules/tradingAlertRules';
import type { TradingHealth, TradingService } from './TradingHealth';

/** One condition of one rule on one service, as evaluated now. */
export interface AlertCondition {
  rule: string;
  labels: Record<string, string>;
  severity: AlertSeverity;
  /** How long the condition must hold before the alert fires (Prometheus's `for:`). */
  forMs: number;
  active: boolean;
  summary: string;
}

/** A change of an alert's state that the trail records: it fired, or it resolved. */
export interface AlertTransition {
  alert: TradingAlert;
  service: TradingService;
}

/** Exponentially weighted mean and variance of a series, frozen while the series is anomalous. */
class Ewma {
  mean = 0;
  variance = 0;
  count = 0;
  constructor(private readonly alpha = 0.1) {}

  /** The z-score of `x` against the band so far; updates the band unless `x` is an outlier. */
  score(x: number, threshold: number): number | undefined {
    const sd = Math.sqrt(this.variance);
    const z =
      this.count >= 20
        ? (x - this.mean) / Math.max(sd, 1e-4 * this.mean, 1e-9)
        : undefined;
    if (z === undefined || z <= threshold) {
      const diff = x - this.mean;
      const incr = this.alpha * diff;
      this.mean = this.count === 0 ? x : this.mean + incr;
      this.variance =
        this.count === 0 ? 0 : (1 - this.alpha) * (this.variance + diff * incr);
      this.count++;
    }
    return z;
  }
}

/** Least-squares line through points; undefined for fewer than two distinct times. */
export function linearFit(points: { t: number; value: number }[]) {
  const n = points.length;
  if (n < 2) return undefined;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.value, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.value - mv);
    den += (p.t - mt) ** 2;
  }
  if (den === 0) return undefined;
  const slope = num / den;
  return { slope, at: (t: number) => mv + slope * (t - mt) };
}

const MINUTE = 60_000;
/** A rule's `for:` in milliseconds. */
const forOf = (rule: TradingAlertRule) =>
  rule.for ? durationSeconds(rule.for) * 1000 : 0;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/**
 * The backend's own alert evaluation, with the semantics of the generated Prometheus rules: each
 * rule's condition per service, `for:` durations (pending, then firing), and resolution when the
 * condition no longer holds. Anomalies (an EWMA band on each latency SLO's p99) and predictions (a
 * linear trend of resident memory an hour ahead) are evaluated here too.
 */
export class AlertEvaluator {
  private readonly alerts = new Map<string, TradingAlert>();
  private readonly resolved: TradingAlert[] = [];
  private readonly bands = new Map<string, Ewma>();

  constructor(
    private readonly health: TradingHealth,
    private readonly onTransition: (t: AlertTransition) => Promise<void>,
    /** Alerts firing when the backend last stopped, so a restart does not fire them twice. */
    restored: TradingAlert[] = [],
  ) {
    for (const a of restored)
      this.alerts.set(this.key(a.entityRef, a.rule, a.labels), a);
  }

  private key(entityRef: string, rule: string, labels: Record<string, string>) {
    return `${entityRef}|${rule}|${JSON.stringify(labels)}`;
  }

  /** Alerts pending or firing now, and those resolved since start, newest first. */
  list(entityRef?: string): TradingAlert[] {
    const all = [...this.alerts.values(), ...this.resolved]
      .filter(a => !entityRef || a.entityRef === entityRef)
      .map(a => ({ ...a }));
    return all.sort((a, b) => b.activeAt.localeCompare(a.activeAt));
  }

  /** The conditions of every rule on one service now. */
  conditions(service: TradingService, now: number): AlertCondition[] {
    const scraped = this.health.historyOf(service.entityRef);
    if (!scraped?.history.lastTime) return [];
    const { history, lastCounterKeys } = scraped;
    const out: AlertCondition[] = [];

    for (const slo of service.slos) {
      const indicators = indicatorsFromHistory(
        slo,
        history,
        history.lastTime!,
        lastCounterKeys,
      );
      const firing = firingBurnPairs(slo, indicators.errorRatios);
      for (const w of BURN_RATE_WINDOWS) {
        const on = firing.includes(w);
        const rule =
          w.severity === 'page' ? RULES.sloBurnPage : RULES.sloBurnTicket;
        out.push({
          rule: rule.name,
          labels: { slo: slo.id, window: `${w.long}/${w.short}` },
          severity: rule.severity,
          forMs: forOf(rule),
          active: on,
          summary: `${slo.title}: the error budget burns faster than ${w.burnRate}× over ${w.long} and ${w.short}`,
        });
      }
      if (slo.kind === 'latency' && indicators.current !== undefined) {
        // The p99 over 5 minutes, each minute of the last 30, extrapolated an hour ahead (as
        // predict_linear on gekko:sli:p99_rate5m); 20 minutes of it at least, against noise.
        const predicted = RULES.latencyBreachPredicted;
        const points = indicatorSeries(
          slo,
          history,
          now,
          30 * MINUTE,
          MINUTE,
          lastCounterKeys,
          5 * MINUTE,
        ).flatMap(p =>
          p.value === null ? [] : [{ t: Date.parse(p.t), value: p.value }],
        );
        const trend = points.length >= 20 ? linearFit(points) : undefined;
        const ahead = trend?.at(now + predicted.threshold * 1000);
        out.push({
          rule: predicted.name,
          labels: { slo: slo.id },
          severity: predicted.severity,
          forMs: forOf(predicted),
          active:
            ahead !== undefined &&
            ahead > slo.threshold &&
            indicators.current <= slo.threshold,
          summary: `${slo.title}: p99 ${(indicators.current * 1000).toFixed(
            1,
          )} ms rises ${
            trend ? (trend.slope * MINUTE * 1000).toFixed(2) : '?'
          } ms a minute: at this trend it passes its ${(
            slo.threshold * 1000
          ).toFixed(0)} ms limit within the hour`,
        });
        const key = `${service.entityRef}|${slo.id}`;
        let band = this.bands.get(key);
        if (!band) this.bands.set(key, (band = new Ewma()));
        const mean = band.mean;
        const limit = RULES.latencyAnomaly.threshold;
        const z = band.score(indicators.current, limit);
        out.push({
          rule: RULES.latencyAnomaly.name,
          labels: { slo: slo.id },
          severity: RULES.latencyAnomaly.severity,
          forMs: forOf(RULES.latencyAnomaly),
          active:
            z !== undefined && z > limit && indicators.current > 1.2 * mean,
          summary: `${slo.title}: p99 ${(indicators.current * 1000).toFixed(
            1,
          )} ms is ${
            z === undefined ? '?' : z.toFixed(1)
          } standard deviations over its usual ${(mean * 1000).toFixed(1)} ms`,
        });
      }
    }

    const age = (venue: string) => {
      const last = history.gauge(`venue:${venue}:last`);
      return last === undefined ? undefined : now / 1000 - last;
    };
    for (const venue of service.venues) {
      const connected = history.gauge(`venue:${venue}:connected`);
      out.push({
        rule: RULES.venueDisconnected.name,
        labels: { venue },
        severity: RULES.venueDisconnected.severity,
        forMs: forOf(RULES.venueDisconnected),
        active: connected !== undefined && connected < 1,
        summary: `${service.name} lost its connection to ${venue}`,
      });
      const a = age(venue);
      out.push({
        rule: RULES.venueSilent.name,
        labels: { venue },
        severity: RULES.venueSilent.severity,
        forMs: forOf(RULES.venueSilent),
        active: a !== undefined && a > RULES.venueSilent.threshold,
        summary: `${
          service.name
        } has had no message from ${venue} for ${Math.round(a ?? 0)} s`,
      });
    }

    const exposure = history.gauge('exposure');
    const limit = history.gauge('exposureLimit');
    if (exposure !== undefined && limit !== undefined) {
      out.push({
        rule: RULES.riskLimitBreach.name,
        labels: {},
        severity: RULES.riskLimitBreach.severity,
        forMs: forOf(RULES.riskLimitBreach),
        active: exposure > limit,
        summary: `risk exposure $${Math.round(exposure).toLocaleString(
          'en-US',
        )} is over its limit $${Math.round(limit).toLocaleString('en-US')}`,
      });
      out.push({
        rule: RULES.riskLimitNear.name,
        labels: {},
        severity: RULES.riskLimitNear.severity,
        forMs: forOf(RULES.riskLimitNear),
        active:
          exposure > RULES.riskLimitNear.threshold * limit && exposure <= limit,
        summary: `risk exposure is at ${((exposure / limit) * 100).toFixed(
          0,
        )} % of its limit`,
      });
    }

    const memoryLimit = history.gauge('memoryLimit');
    const memory = history.gauge('memory');
    if (memoryLimit !== undefined && memory !== undefined) {
      const points = history.gaugeSeries('memory', 30 * MINUTE, now);
      const fit =
        points.length >= 10 &&
        points[points.length - 1].t - points[0].t >= 2 * MINUTE
          ? linearFit(points)
          : undefined;
      const horizon = RULES.memoryExhaustionPredicted.threshold * 1000;
      const inAnHour = fit?.at(now + horizon);
      out.push({
        rule: RULES.memoryExhaustionPredicted.name,
        labels: {},
        severity: RULES.memoryExhaustionPredicted.severity,
        forMs: forOf(RULES.memoryExhaustionPredicted),
        active: inAnHour !== undefined && inAnHour > memoryLimit,
        summary: `resident memory ${mb(memory)} grows ${
          fit ? mb(fit.slope * 60_000) : '?'
        }/min: at this trend it passes its ${mb(
          memoryLimit,
        )} limit within the hour`,
      });
    }

    // GPU workers of the portal's pools: fewer ready than 10 minutes ago (a pool that lost them all
    // has no series now, and counts as 0), as the rule in the Prometheus rules says.
    const before =
      history.firstTime! <= now - 10 * MINUTE
        ? history.gaugesAt(now - 10 * MINUTE)
        : undefined;
    const latest = history.gaugesAt(now) ?? {};
    for (const key of Object.keys({ ...before, ...latest })) {
      const match = /^pool:(.+):ready$/.exec(key);
      if (!match) continue;
      const ready = latest[key] ?? 0;
      const earlier = before?.[key];
      out.push({
        rule: RULES.gpuWorkerDown.name,
        labels: { pool: match[1] },
        severity: RULES.gpuWorkerDown.severity,
        forMs: forOf(RULES.gpuWorkerDown),
        active: earlier !== undefined && ready < earlier,
        summary: `GPU pool ${match[1]} has ${ready} ready workers, ${
          earlier ?? '?'
        } ten minutes ago: the gateway retries on the others, capacity is at stake`,
      });
    }

    // Each GPU's used memory over 30 minutes, an hour ahead, against what it has (used + free).
    for (const key of Object.keys(latest)) {
      const match = /^gpu:(.+)\|(.+)\|(.+):used$/.exec(key);
      if (!match) continue;
      const [, pool, worker, gpu] = match;
      const rule = RULES.gpuMemoryExhaustionPredicted;
      const total =
        latest[key] + (latest[key.replace(/:used$/, ':free')] ?? NaN);
      const points = history.gaugeSeries(key, 30 * MINUTE, now);
      const fit =
        points.length >= 10 &&
        points[points.length - 1].t - points[0].t >= 5 * MINUTE
          ? linearFit(points)
          : undefined;
      const ahead = fit?.at(now + rule.threshold * 1000);
      out.push({
        rule: rule.name,
        labels: { pool, worker, gpu },
        severity: rule.severity,
        forMs: forOf(rule),
        active: ahead !== undefined && Number.isFinite(total) && ahead > total,
        summary: `GPU ${gpu} of ${worker} (pool ${pool}) uses ${latest[
          key
        ].toFixed(0)} of ${
          Number.isFinite(total) ? total.toFixed(0) : '?'
        } MiB, growing ${
          fit ? (fit.slope * MINUTE).toFixed(0) : '?'
        } MiB a minute: at this trend it runs out within the hour`,
      });
    }

    const accuracy = history.gauge('accuracy');
    if (accuracy !== undefined) {
      out.push({
        rule: RULES.modelAccuracyDrop.name,
        labels: {},
        severity: RULES.modelAccuracyDrop.severity,
        forMs: forOf(RULES.modelAccuracyDrop),
        active: accuracy < RULES.modelAccuracyDrop.threshold,
        summary: `model accuracy ${(accuracy * 100).toFixed(
          1,
        )} % is under 52 %`,
      });
    }
    return out;
  }

  /** Evaluates every rule on every service; records each alert that fires or resolves. */
  async evaluate(now: number): Promise<void> {
    const iso = new Date(now).toISOString();
    for (const service of this.health.list()) {
      for (const c of this.conditions(service, now)) {
        const key = this.key(service.entityRef, c.rule, c.labels);
        const current = this.alerts.get(key);
        if (c.active && !current) {
          const alert = {
            id: createHash('sha256')
              .update(`${key}|${iso}`)
              .digest('hex')
              .slice(0, 16),
            entityRef: service.entityRef,
            rule: c.rule,
            labels: c.labels,
            severity: c.severity,
            state: 'pending' as const,
            summary: c.summary,
            activeAt: iso,
          };
          this.alerts.set(key, alert);
        }
        const alert = this.alerts.get(key);
        if (!alert) continue;
        if (c.active) {
          alert.summary = c.summary;
          if (
            alert.state === 'pending' &&
            now - Date.parse(alert.activeAt) >= c.forMs
          ) {
            alert.state = 'firing';
            alert.firedAt = iso;
            await this.onTransition({ alert: { ...alert }, service });
          }
        } else {
          this.alerts.delete(key);
          if (alert.state === 'firing') {
            alert.state = 'resolved';
            alert.resolvedAt = iso;
            this.resolved.unshift(alert);
            this.resolved.splice(200);
            await this.onTransition({ alert: { ...alert }, service });
          }
        }
      }
    }
  }
}
