/*
 * The limit baseline of the predict benchmark: a bare `node:http` server that runs the model through
 * one raw onnxruntime session in its own event loop, with no authentication, no permission check, no
 * batching and no worker threads, and answers the same JSON as the predict route. What a predict
 * server on this machine can at best do; run as its own process, like the load generator.
 *
 * Usage: node limitBaseline.cjs '<json options>'   { model, port, intraOpThreads? }
 * Prints `ready` when it listens on 127.0.0.1:port.
 */
const http = require('node:http');
const ort = require('onnxruntime-node');

const options = JSON.parse(process.argv[2]);

async function main() {
  const session = await ort.InferenceSession.create(options.model, {
    ...(options.intraOpThreads
      ? { intraOpNumThreads: options.intraOpThreads }
      : {}),
  });
  const inputName = session.inputNames[0];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', chunk => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const rows = JSON.parse(Buffer.concat(chunks).toString('utf8')).inputs;
        const width = rows[0].length;
        const input = new Float32Array(rows.length * width);
        rows.forEach((row, i) => input.set(row, i * width));
        const result = await session.run({
          [inputName]: new ort.Tensor('float32', input, [rows.length, width]),
        });
        const outputs = {};
        for (const [name, tensor] of Object.entries(result)) {
          outputs[name] = { shape: tensor.dims, data: Array.from(tensor.data) };
        }
        const json = JSON.stringify({ outputs });
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(json),
        });
        res.end(json);
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end(String(error));
      }
    });
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
