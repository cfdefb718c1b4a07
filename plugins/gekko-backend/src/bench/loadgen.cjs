/*
 * A closed-loop HTTP load generator, run as its own process so it does not share the server's event
 * loop: `concurrency` clients each send a request, wait for the answer, and send the next, over
 * keep-alive connections, for `durationMs` after `warmupMs`. Prints one JSON line with the request
 * rate and latency percentiles. Targets 127.0.0.1 only, and stops by itself.
 *
 * Usage: node loadgen.cjs '<json options>'
 *   { url, method, headers, bodyBase64, concurrency, durationMs, warmupMs }
 */
const http = require('node:http');

const options = JSON.parse(process.argv[2]);
const url = new URL(options.url);
if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
  throw new Error('the load generator only targets 127.0.0.1');
}
const body = options.bodyBase64
  ? Buffer.from(options.bodyBase64, 'base64')
  : undefined;
const agent = new http.Agent({
  keepAlive: true,
  maxSockets: options.concurrency,
});

function once() {
  return new Promise(resolve => {
    const start = process.hrtime.bigint();
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'GET',
        headers: {
          ...options.headers,
          ...(body ? { 'content-length': body.length } : {}),
        },
      },
      res => {
        res.on('data', () => {});
        res.on('end', () =>
          resolve({
            ok: res.statusCode === 200,
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - start) / 1e6,
          }),
        );
      },
    );
    req.on('error', error =>
      resolve({ ok: false, status: String(error.code ?? error), ms: 0 }),
    );
    req.end(body);
  });
}

async function main() {
  const latencies = [];
  const failures = {};
  let measuring = false;
  let done = false;
  const clients = Array.from({ length: options.concurrency }, async () => {
    while (!done) {
      const r = await once();
      if (!measuring) continue;
      if (r.ok) latencies.push(r.ms);
      else failures[r.status] = (failures[r.status] ?? 0) + 1;
    }
  });
  await new Promise(r => setTimeout(r, options.warmupMs ?? 1000));
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise(r => setTimeout(r, options.durationMs ?? 5000));
  measuring = false;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  done = true;
  await Promise.all(clients);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = p =>
    latencies.length
      ? +latencies[
          Math.min(
            latencies.length - 1,
            Math.ceil((p / 100) * latencies.length) - 1,
          )
        ].toFixed(3)
      : null;
  process.stdout.write(
    `${JSON.stringify({
      requests: latencies.length,
      failures,
      seconds: +seconds.toFixed(3),
      requestsPerSecond: Math.round(latencies.length / seconds),
      p50Ms: pct(50),
      p99Ms: pct(99),
      maxMs: latencies.length ? +latencies.at(-1).toFixed(3) : null,
    })}\n`,
  );
}

main();
