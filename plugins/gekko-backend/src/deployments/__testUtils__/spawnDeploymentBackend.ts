import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

/** What a backend process is started with (passed to it as JSON). */
export interface DeploymentBackendOptions {
  /** Knex client and connection of the shared database: a SQLite file, or a PostgreSQL database. */
  database:
    | { client: 'better-sqlite3'; connection: { filename: string } }
    | { client: 'pg'; connection: string | Record<string, unknown> };
  /** The models folder of `twoModelVersions()`. */
  modelsDir: string;
  /** `gekko.deployments.leaseDuration` in milliseconds. */
  leaseMs: number;
}

/** A gekko backend running in a child process. */
export interface DeploymentBackend {
  readonly pid: number;
  readonly url: string;
  /** Milliseconds from the spawn to serving. */
  readonly startMs: number;
  /** When it reached its freeze point: the log line it stopped at. */
  readonly frozen: Promise<string>;
  /** Sets its freeze point (a regular expression; undefined: none) and waits until it has it. */
  freezeAt(pattern: string | undefined): Promise<void>;
  /** Relays the events this backend announces to `other`, as a shared events bus would. */
  relayEventsTo(other: DeploymentBackend): void;
  /** Publishes an event another backend announced (`relayEventsTo` calls it). */
  receive(event: string): void;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown that gives its leases back), and wait until it is gone. */
  stop(): Promise<void>;
}

const entry = path.join(__dirname, 'deploymentBackendProcess.ts');

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts a gekko backend in a child process (`deploymentBackendProcess.ts`, run from source) and
 * resolves once it serves. With `freezeAt` (a regular expression), it stops at the first log line
 * that matches (see `frozen`), to be killed there.
 */
export async function spawnDeploymentBackend(
  options: DeploymentBackendOptions,
  freezeAt?: string,
): Promise<DeploymentBackend> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['-r', require.resolve('@backstage/cli/config/nodeTransform.cjs'), entry],
    {
      env: {
        ...process.env,
        GEKKO_DEPLOYMENT_BACKEND: JSON.stringify(options),
        ...(freezeAt ? { GEKKO_FREEZE_AT: freezeAt } : {}),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  child.stdin!.on('error', () => {}); // a write to a backend just killed
  const stderr: string[] = [];
  readline.createInterface({ input: child.stderr! }).on('line', line => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  });
  const exited = exitOf(child);
  let onFrozen: (line: string) => void = () => {};
  const armed: Array<() => void> = [];
  const announced: Array<(event: string) => void> = [];
  const frozen = new Promise<string>(resolve => {
    onFrozen = resolve;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the backend did not start within 90 s')),
      90_000,
    );
    readline.createInterface({ input: child.stdout! }).on('line', line => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(Number(line.slice(6)));
      } else if (line.startsWith('FROZEN ')) {
        onFrozen(line.slice(7));
      } else if (line === 'ARMED') {
        armed.shift()?.();
      } else if (line.startsWith('EVENT ')) {
        for (const listener of announced) listener(line.slice(6));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the backend exited (${
            signal ?? code
          }) before it served:\n${stderr.join('\n')}`,
        ),
      );
    });
  });
  const startMs = performance.now() - started;
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    startMs,
    frozen,
    freezeAt(pattern) {
      return new Promise(resolve => {
        armed.push(resolve);
        child.stdin!.write(`FREEZE ${pattern ?? ''}\n`);
      });
    },
    relayEventsTo(other) {
      announced.push(event => other.receive(event));
    },
    receive(event) {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin!.write(`EVENT ${event}\n`);
      }
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
