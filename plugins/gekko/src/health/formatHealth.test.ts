import { DEFAULT_SLOS, parseSloAnnotation } from '@gekko/plugin-gekko-common';
import {
  chartUnitOf,
  formatAge,
  formatBudgetRemaining,
  formatBurnRate,
  formatIndicator,
  formatObjective,
  formatPnl,
  formatUsdCompact,
} from './formatHealth';

const orderLatency = DEFAULT_SLOS['order-latency'];
const throughput = DEFAULT_SLOS['market-data-throughput'];
const availability = DEFAULT_SLOS.availability;

describe('formatHealth', () => {
  it('writes each kind of objective in its unit, as the annotation sets it', () => {
    expect(formatObjective(orderLatency)).toBe('p99 < 100 ms');
    expect(formatObjective(throughput)).toBe('≥ 10,000 updates/s');
    expect(formatObjective(availability)).toBe('≥ 99.9 %');
    const [latency80, stricter] = parseSloAnnotation(
      'order-latency<80ms, availability>=99.95%',
    );
    expect(formatObjective(latency80)).toBe('p99 < 80 ms');
    expect(formatObjective(stricter)).toBe('≥ 99.95 %');
  });

  it('writes the indicator now in the unit of its objective, and says when it is not reported', () => {
    expect(formatIndicator(orderLatency, 0.4265432098765432)).toBe('427 ms');
    expect(formatIndicator(orderLatency, 0.01734)).toBe('17.3 ms');
    expect(formatIndicator(throughput, 11_523.4)).toBe('11,523 updates/s');
    expect(formatIndicator(availability, 0.9998333)).toBe('99.983 %');
    expect(formatIndicator(availability, undefined)).toBe('not reported');
  });

  it('draws latency in ms, throughput per second and availability in % with the objective as the line', () => {
    expect(chartUnitOf(orderLatency)).toMatchObject({
      axisLabel: 'p99 (ms)',
      objective: 100,
      objectiveLabel: 'limit 100 ms',
    });
    expect(chartUnitOf(orderLatency).toChart(0.0727)).toBeCloseTo(72.7);
    expect(chartUnitOf(throughput)).toMatchObject({
      objective: 10_000,
      objectiveLabel: 'objective 10,000/s',
    });
    expect(chartUnitOf(availability)).toMatchObject({
      objectiveLabel: 'objective 99.9 %',
    });
    expect(chartUnitOf(availability).objective).toBeCloseTo(99.9);
  });

  it('writes budgets, burn rates, ages and dollars as people read them', () => {
    expect(formatBudgetRemaining(0.986)).toBe('99 %');
    expect(formatBudgetRemaining(-7.827)).toBe('-783 %');
    expect(formatBurnRate(28.95)).toBe('29×');
    expect(formatBurnRate(8.83)).toBe('8.8×');
    expect(formatBurnRate(0.17)).toBe('0.17×');
    expect(formatAge(0)).toBe('0 s ago');
    expect(formatAge(90)).toBe('90 s ago');
    expect(formatAge(600)).toBe('10 min ago');
    expect(formatAge(undefined)).toBe('not reported');
    expect(formatPnl(6491.06)).toBe('+$6,491');
    expect(formatPnl(-1200)).toBe('-$1,200');
    expect(formatUsdCompact(5_795_074)).toBe('$5.8M');
  });
});
