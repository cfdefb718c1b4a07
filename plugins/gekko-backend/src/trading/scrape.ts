import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { MetricFamily } from './observe';

/** A scrape that gave nothing usable; the message says what to fix. */
export class ScrapeError extends Error {
  name = 'ScrapeError';
}

/** Largest exposition the backend reads from one service. */
const MAX_BYTES = 8 * 1024 * 1024;

/**
 * Parses a Prometheus exposition (text format 0.0.4) with `parse-prometheus-text-format`. An empty
 * or malformed body is a {@link ScrapeError} naming the problem, never an empty result that would
 * read as "no errors".
 */
export function parseExposition(body: string, from: string): MetricFamily[] {
  if (!body.trim()) {
    throw new ScrapeError(
      `${from} answered an empty body: it exposes no metrics yet; check that the service instruments its requests`,
    );
  }
  let families: MetricFamily[];
  try {
    families = parsePrometheusTextFormat(body) as MetricFamily[];
  } catch (error) {
    throw new ScrapeError(
      `${from} did not answer in the Prometheus text format (${
        (error as Error).message
      }); check that the URL is the service's /metrics endpoint`,
    );
  }
  // The parser keeps values as text; a value that is no number is a malformed exposition.
  const isNumber = (v: string | undefined) =>
    v === undefined ||
    /^[+-]?(Inf|NaN|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(v);
  for (const family of families ?? []) {
    for (const m of family.metrics) {
      const values = [
        m.value,
        m.count,
        m.sum,
        ...Object.values(m.buckets ?? {}),
      ];
      const bad = values.find(v => !isNumber(v));
      if (bad !== undefined) {
        throw new ScrapeError(
          `${from} did not answer in the Prometheus text format: ${
            family.name
          } has the value "${bad.slice(
            0,
            40,
          )}", which is no number; check the service's instrumentation`,
        );
      }
    }
  }
  if (families.length === 0) {
    throw new ScrapeError(
      `${from} answered no metric families; check that the URL is the service's /metrics endpoint`,
    );
  }
  return families;
}

/** Reads one service's metrics endpoint, within `timeoutMs`. */
export async function scrapeMetrics(
  url: string,
  timeoutMs: number,
): Promise<MetricFamily[]> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { accept: 'text/plain;version=0.0.4' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const why =
      e.name === 'TimeoutError'
        ? `did not answer within ${timeoutMs} ms`
        : `could not be reached (${e.cause?.code ?? e.message})`;
    throw new ScrapeError(
      `The metrics endpoint ${url} ${why}; check that the service runs and that gekko.io/metrics-url is right`,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ScrapeError(
      `The metrics endpoint ${url} answered ${res.status} ${res.statusText}; check that the service runs and that gekko.io/metrics-url is right`,
    );
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) {
    await res.body?.cancel();
    throw new ScrapeError(
      `The metrics endpoint ${url} answered ${length} bytes, over the ${MAX_BYTES}-byte limit`,
    );
  }
  const body = await res.text();
  if (body.length > MAX_BYTES) {
    throw new ScrapeError(
      `The metrics endpoint ${url} answered over ${MAX_BYTES} bytes`,
    );
  }
  return parseExposition(body, `The metrics endpoint ${url}`);
}
