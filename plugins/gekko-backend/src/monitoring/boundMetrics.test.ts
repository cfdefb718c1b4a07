import { Counter, Histogram, Registry } from 'prom-client';
import { BoundCounterMetric, BoundHistogramMetric } from './boundMetrics';

const buckets = [0.001, 0.01, 0.1, 1];
const labelNames = ['model', 'version'] as const;

describe('bound metrics', () => {
  it('expose exactly what prom-client’s own counter and histogram expose for the same samples', async () => {
    const ours = new Registry();
    const reference = new Registry();
    const counter = new BoundCounterMetric({
      name: 'x_requests_total',
      help: 'Requests',
      labelNames,
      registry: ours,
    });
    const histogram = new BoundHistogramMetric({
      name: 'x_duration_seconds',
      help: 'Durations',
      labelNames,
      buckets,
      registry: ours,
    });
    const refCounter = new Counter({
      name: 'x_requests_total',
      help: 'Requests',
      labelNames,
      registers: [reference],
    });
    const refHistogram = new Histogram({
      name: 'x_duration_seconds',
      help: 'Durations',
      labelNames,
      buckets,
      registers: [reference],
    });

    const a = { model: 'nhits', version: '1' };
    const b = { model: 'nhits', version: '2' };
    // On the bounds, between them, above the last, and zero.
    const values = [0, 0.001, 0.0011, 0.01, 0.5, 1, 7, 0.0004];
    for (const [i, v] of values.entries()) {
      const labels = i % 3 === 0 ? b : a;
      histogram.series(labels).observe(v);
      refHistogram.observe(labels, v);
      counter.series(labels).inc(i + 1);
      refCounter.inc(labels, i + 1);
    }
    counter.series(a).inc();
    refCounter.inc(a);

    expect(await ours.metrics()).toBe(await reference.metrics());
    expect(await ours.metrics()).toContain(
      'x_duration_seconds_bucket{le="+Inf",model="nhits",version="1"} 5',
    );
  });

  it('binds a series once per label set, and refuses labels the metric does not have', () => {
    const registry = new Registry();
    const counter = new BoundCounterMetric({
      name: 'y_total',
      help: 'Y',
      labelNames,
      registry,
    });
    const one = counter.series({ model: 'm', version: '1' });
    expect(counter.series({ version: '1', model: 'm' })).toBe(one);
    expect(() => counter.series({ model: 'm' })).toThrow(
      'y_total takes the labels model, version, got model',
    );
    expect(() =>
      counter.series({ model: 'm', version: '2', pool: 'p' }),
    ).toThrow(/takes the labels model, version/);
  });
});
