import { parseArgs } from 'node:util';
import { TradingSimulator } from './TradingSimulator';

/** What `gekko-trading-simulator --help` prints. */
const HELP = `Usage: gekko-trading-simulator [--port 9464] [--host 127.0.0.1] [--seed 1]

Serves the Prometheus metrics of each Gordon Gekko trading service, with faults
switchable at run time over HTTP. See the package README for the faults.

Options:
  --port <n>    port to listen on (default 9464; 0 picks a free one)
  --host <h>    address to listen on (default 127.0.0.1)
  --seed <n>    seed of the random figures (default 1)
  -h, --help    show this help
`;

/** Where the CLI writes; replaceable in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
};

function integerOption(
  name: string,
  value: string | undefined,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > max) {
    throw new Error(`--${name}: must be a whole number from 0 to ${max}`);
  }
  return n;
}

/**
 * Runs `gekko-trading-simulator` with `argv` (the arguments after the script) until SIGINT or
 * SIGTERM. Resolves with the exit code: 0 after a stop or `--help`, 2 for a bad command line, 1
 * when the port cannot be bound.
 *
 * @public
 */
export async function runCli(
  argv: string[],
  io: CliIo = processIo,
): Promise<number> {
  let port: number;
  let host: string;
  let seed: number;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(HELP);
      return 0;
    }
    port = integerOption('port', values.port, 9464, 65535);
    seed = integerOption('seed', values.seed, 1, 2 ** 32 - 1);
    host = values.host ?? '127.0.0.1';
  } catch (error) {
    io.stderr(
      `gekko-trading-simulator: ${
        (error as Error).message
      }\nRun gekko-trading-simulator --help for the options.\n`,
    );
    return 2;
  }

  const simulator = new TradingSimulator({ seed });
  let bound: number;
  try {
    bound = await simulator.listen({ port, host });
  } catch (error) {
    io.stderr(
      `gekko-trading-simulator: cannot listen on ${host}:${port}: ${
        (error as Error).message
      }\n`,
    );
    return 1;
  }

  const base = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  const names = simulator.serviceNames();
  const width = Math.max(...names.map(name => name.length));
  io.stdout(
    [
      `Gekko trading simulator on ${base}`,
      '',
      'Metrics (Prometheus text format):',
      ...names.map(
        name => `  ${name.padEnd(width)}  ${base}/services/${name}/metrics`,
      ),
      '',
      'Inject a fault, e.g. a 5x latency spike on order execution:',
      `  curl -X PUT ${base}/services/order-execution/faults/latency-spike -d '{"factor":5}'`,
      'List the faults, and clear them all:',
      `  curl ${base}/faults`,
      `  curl -X DELETE ${base}/faults`,
      '',
    ].join('\n'),
  );

  return new Promise<number>(resolve => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      simulator.close().then(() => resolve(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
