/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** The samples of a Prometheus text exposition (no timestamps, as prom-client writes it). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(
      /(\w+)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key] = value;
    }
    samples.push({ name: match[1], labels, value: parseValue(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels. */
export function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samples.filter(
    s =>
      s.name === name &&
      Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (found.length !== 1) {
    throw new Error(
      `${found.length} samples of ${name}${JSON.stringify(labels)}`,
    );
  }
  return found[0].value;
}

/**
 * The q-quantile of a histogram's observations between two scrapes, interpolated linearly within
 * a bucket as Prometheus's `histogram_quantile(q, increase(m_bucket[…]))` does.
 */
export function histogramQuantile(
  q: number,
  metric: string,
  before: Sample[],
  after: Sample[],
): number {
  const counts = (samples: Sample[]) =>
    new Map(
      samples
        .filter(s => s.name === `${metric}_bucket`)
        .map(s => [parseValue(s.labels.le), s.value]),
    );
  const start = counts(before);
  const buckets = [...counts(after)]
    .map(([le, count]) => ({ le, count: count - (start.get(le) ?? 0) }))
    .sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1].count;
  if (total === 0) return NaN;
  const rank = q * total;
  const index = buckets.findIndex(b => b.count >= rank);
  const bucket = buckets[index];
  if (bucket.le === Infinity) return buckets[index - 1].le;
  const lower = index === 0 ? 0 : buckets[index - 1].le;
  const below = index === 0 ? 0 : buckets[index - 1].count;
  return (
    lower + ((bucket.le - lower) * (rank - below)) / (bucket.count - below)
  );
}
