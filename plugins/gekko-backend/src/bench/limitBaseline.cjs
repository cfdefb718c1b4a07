/*
 * The limit baseline of the predict benchmark: a bare `node:http` server that runs the model through
 * one raw onnxruntime session in its own event loop, with no authentication, no permission check, no
 * batching and no worker threads, and answers the same JSON as the predict route. What a predict
 * server on this machine can at best do; run as its own process, like the load generator.
 *
 * With `batching`, requests whose bodies complete in the same turn of the event loop run as one
 * batch (as the data plane's batcher does with no queue delay): what batching alone buys a server
 * with nothing else in its process, for telling the data plane's own costs from the model's.
 *
 * Usage: node limitBaseline.cjs '<json options>'   { model, port, intraOpThreads?, batching? }
 * Prints `ready` when it listens on 127.0.0.1:port.
 */
const http = require('node:http');
const ort = require('onnxruntime-node');

const options = JSON.parse(process.argv[2]);

function answer(res, outputs) {
  const json = JSON.stringify({ outputs });
  res.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

function refuse(res, error) {
  res.writeHead(400, { 'content-type': 'text/plain' });
  res.end(String(error));
}

async function main() {
  const session = await ort.InferenceSession.create(options.model, {
    ...(options.intraOpThreads
      ? { intraOpNumThreads: options.intraOpThreads }
      : {}),
  });
  const inputName = session.inputNames[0];
  const run = (input, rows, width) =>
    session.run({
      [inputName]: new ort.Tensor('float32', input, [rows, width]),
    });
  const toRows = body => {
    const rows = JSON.parse(body.toString('utf8')).inputs;
    const width = rows[0].length;
    const input = new Float32Array(rows.length * width);
    rows.forEach((row, i) => input.set(row, i * width));
    return { input, rows: rows.length, width };
  };

  // One request, one run.
  const single = async (body, res) => {
    try {
      const { input, rows, width } = toRows(body);
      const result = await run(input, rows, width);
      const outputs = {};
      for (const [name, tensor] of Object.entries(result)) {
        outputs[name] = { shape: tensor.dims, data: Array.from(tensor.data) };
      }
      answer(res, outputs);
    } catch (error) {
      refuse(res, error);
    }
  };

  // Requests of one turn of the event loop, one run (every request of the same width).
  let queue = [];
  const flush = async () => {
    const batch = queue;
    queue = [];
    const width = batch[0].width;
    const rows = batch.reduce((n, r) => n + r.rows, 0);
    const input = new Float32Array(rows * width);
    let row = 0;
    for (const r of batch) {
      input.set(r.input, row * width);
      row += r.rows;
    }
    try {
      const result = await run(input, rows, width);
      row = 0;
      for (const r of batch) {
        const outputs = {};
        for (const [name, tensor] of Object.entries(result)) {
          const per = tensor.data.length / rows;
          outputs[name] = {
            shape: [r.rows, ...tensor.dims.slice(1)],
            data: Array.from(
              tensor.data.subarray(row * per, (row + r.rows) * per),
            ),
          };
        }
        row += r.rows;
        answer(r.res, outputs);
      }
    } catch (error) {
      for (const r of batch) refuse(r.res, error);
    }
  };
  const batched = (body, res) => {
    let parsed;
    try {
      parsed = toRows(body);
    } catch (error) {
      refuse(res, error);
      return;
    }
    if (queue.length > 0 && queue[0].width !== parsed.width) {
      single(body, res);
      return;
    }
    queue.push({ ...parsed, res });
    if (queue.length === 1) setImmediate(flush);
  };

  const handle = options.batching ? batched : single;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', () => handle(Buffer.concat(chunks), res));
  });
  server.keepAliveTimeout = 65_000;
  server.listen(options.port, '127.0.0.1', () =>
    process.stdout.write('ready\n'),
  );
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
