import {
  NatsWorkerRefusedError,
  startNatsWorker,
} from '../transport/nats/NatsWorkerServer';
import { runNatsUser } from './natsUser';
import {
  CLI_HELP,
  CliUsageError,
  parseCliArgs,
  redactUrl,
} from './parseCliArgs';

/** Where the CLI writes; replaceable in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: text => process.stdout.write(text),
  stderr: text => process.stderr.write(text),
};

/**
 * Runs `gekko-worker` with `argv` (the arguments after the script) until SIGINT or SIGTERM, then
 * stops gracefully. Resolves with the exit code: 0 after a graceful stop or `--help`, 2 for a bad
 * command line, 1 when NATS cannot be reached, refuses this worker, or the connection closes for
 * good. `gekko-worker nats-user …` makes a worker's NATS identity instead (see `runNatsUser`).
 */
export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = processIo,
): Promise<number> {
  if (argv[0] === 'nats-user') return runNatsUser(argv.slice(1), io);
  const log = (line: string) =>
    io.stderr(`${new Date().toISOString()} gekko-worker ${line}\n`);

  let config;
  try {
    config = parseCliArgs(argv, env);
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr(
        `gekko-worker: ${error.message}\nRun gekko-worker --help for the options.\n`,
      );
      return 2;
    }
    throw error;
  }
  if (config === 'help') {
    io.stdout(CLI_HELP);
    return 0;
  }

  let worker;
  try {
    worker = await startNatsWorker({
      servers: config.servers,
      auth: config.auth,
      tls: config.tls,
      pool: config.pool,
      id: config.id,
      modelsDir: config.modelsDir,
      subjectPrefix: config.subjectPrefix,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      intraOpThreads: config.intraOpThreads,
      logger: log,
    });
  } catch (error) {
    if (error instanceof NatsWorkerRefusedError) {
      // Already logged when the server refused.
      return 1;
    }
    log(
      `cannot connect to NATS at ${config.servers.map(redactUrl).join(', ')}: ${
        error instanceof Error ? error.message : error
      }`,
    );
    return 1;
  }
  const running = worker;

  return new Promise<number>(settle => {
    let stopping = false;
    const resolve = (code: number) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      settle(code);
    };
    function onSignal(signal: NodeJS.Signals) {
      if (stopping) {
        log(`${signal} again: exiting without finishing requests`);
        resolve(1);
        return;
      }
      stopping = true;
      log(`${signal}: saying goodbye and finishing requests in flight`);
      running.close().then(
        () => {
          log('stopped');
          resolve(0);
        },
        error => {
          log(`stopping failed: ${String(error)}`);
          resolve(1);
        },
      );
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    running.closed.then(error => {
      if (!stopping) {
        log(`the NATS connection closed${error ? `: ${error.message}` : ''}`);
        resolve(1);
      }
    });
  });
}
