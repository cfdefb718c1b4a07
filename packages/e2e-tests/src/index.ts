/*
 * Helpers of the Gekko portal's end-to-end test: find a Chromium, build the front end, start the
 * real backend on a free port with fresh SQLite files, and wait for pages and APIs.
 */
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * The root of the monorepo: the nearest folder, from the working directory up, that holds the
 * committed Yarn (the tests run from the package or from the root).
 */
function findRepoRoot(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, '.yarn', 'releases', 'yarn-4.13.0.cjs'))) {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(
        `No Gekko portal checkout (.yarn/releases/yarn-4.13.0.cjs) above ${process.cwd()}`,
      );
    }
  }
}

/** The root of the monorepo. */
export const repoRoot = findRepoRoot();

/** The committed Yarn that every script of the repository uses. */
export const yarnRelease = path.join(
  repoRoot,
  '.yarn',
  'releases',
  'yarn-4.13.0.cjs',
);

/** Writes a progress line right away (Jest buffers `console` output until a test file ends). */
export function log(message: string): void {
  process.stderr.write(`[e2e] ${message}\n`);
}

/** The Chromium (or Chrome) to drive: `GEKKO_CHROMIUM`, else the usual install paths. */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.GEKKO_CHROMIUM,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  ];
  return candidates.find(c => c && fs.existsSync(c));
}

/** Whether CI demands the end-to-end test (`CI` true and `GEKKO_REQUIRE_E2E=1`): then no skipping. */
export function isE2ERequired(): boolean {
  const ci = process.env.CI;
  return (
    Boolean(ci) &&
    ci !== 'false' &&
    ci !== '0' &&
    process.env.GEKKO_REQUIRE_E2E === '1'
  );
}

/**
 * The portal's base app config. `GEKKO_E2E_APP_CONFIG` replaces it (an absolute path), for running
 * against another configuration; the default is the repository's `app-config.yaml`.
 */
export function baseAppConfig(): string {
  return process.env.GEKKO_E2E_APP_CONFIG
    ? path.resolve(process.env.GEKKO_E2E_APP_CONFIG)
    : path.join(repoRoot, 'app-config.yaml');
}

/** A TCP port nothing listens on right now. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Thrown from a `waitFor` callback to give up at once. */
export class StopWaiting extends Error {}

/**
 * Calls `fn` until it returns a value other than `undefined`, or throws once the time is up;
 * errors count as "not yet", except `StopWaiting`.
 */
export async function waitFor<T>(
  description: string,
  fn: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${Math.round(
          options.timeoutMs / 1000,
        )} s waiting for ${description}${
          lastError ? ` (last error: ${String(lastError)})` : ''
        }`,
      );
    }
    await sleep(options.intervalMs ?? 1000);
  }
}

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPES = /\u001b\[[0-9;]*m/g;

/**
 * The last `lines` lines of a backend log ('' when it does not exist), without colour codes and
 * without the health-check polling that would drown everything else.
 */
export function tailOf(file: string, lines = 80): string {
  if (!fs.existsSync(file)) return '';
  return fs
    .readFileSync(file, 'utf8')
    .replace(ANSI_ESCAPES, '')
    .split('\n')
    .filter(line => !line.includes('/.backstage/health/'))
    .slice(-lines)
    .map(line => (line.length > 500 ? `${line.slice(0, 500)}…` : line))
    .join('\n');
}

/** The built front end that the backend's app plugin serves. */
export const appIndexHtml = path.join(
  repoRoot,
  'packages',
  'app',
  'dist',
  'index.html',
);

/** What the built front end is made of: a change to any of them calls for a new build. */
const appSources = [
  'packages/app',
  'plugins/gekko',
  'plugins/gekko-common',
  'app-config.yaml',
];

/** The newest modification time of the files under `paths` (relative to the repository root). */
function newestMtime(paths: string[]): number {
  let newest = 0;
  const walk = (file: string) => {
    if (!fs.existsSync(file)) return;
    const stat = fs.statSync(file);
    if (!stat.isDirectory()) {
      newest = Math.max(newest, stat.mtimeMs);
      return;
    }
    for (const entry of fs.readdirSync(file, { withFileTypes: true })) {
      if (['node_modules', 'dist', 'dist-types'].includes(entry.name)) continue;
      walk(path.join(file, entry.name));
    }
  };
  paths.forEach(p => walk(path.join(repoRoot, p)));
  return newest;
}

/**
 * Builds the front end (`yarn workspace app build`) unless `packages/app/dist` has a build newer
 * than every source of it (as `npm test` decides in scripts/portal.mjs).
 */
export function ensureAppBuilt(): void {
  const sources = process.env.GEKKO_E2E_APP_CONFIG
    ? [...appSources, path.relative(repoRoot, baseAppConfig())]
    : appSources;
  if (
    fs.existsSync(appIndexHtml) &&
    fs.statSync(appIndexHtml).mtimeMs > newestMtime(sources)
  ) {
    log(
      `front end already built, newer than its sources: ${path.relative(
        repoRoot,
        appIndexHtml,
      )}`,
    );
    return;
  }
  log('building the front end (yarn workspace app build), a few minutes');
  const args = [yarnRelease, 'workspace', 'app', 'build'];
  if (process.env.GEKKO_E2E_APP_CONFIG) args.push('--config', baseAppConfig());
  const result = spawnSync(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-old-space-size=4096',
    },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0 || !fs.existsSync(appIndexHtml)) {
    const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`
      .split('\n')
      .slice(-60)
      .join('\n');
    throw new Error(
      `The front-end build failed (exit ${result.status}${
        result.error ? `, ${result.error}` : ''
      }):\n${output}`,
    );
  }
  log('front end built');
}

/** A running portal backend, serving the built front end on the same port. */
export interface Portal {
  baseUrl: string;
  port: number;
  /** Static external access token (subject `e2e-tests`) for calling the APIs. */
  token: string;
  /** The trading-service simulator the backend runs (faults: `PUT /services/<name>/faults/<kind>`). */
  simulatorUrl: string;
  tmpDir: string;
  logFile: string;
  /** The last lines of the backend's output. */
  logTail(lines?: number): string;
  /** `fetch` against the portal with the token. */
  api(urlPath: string, init?: RequestInit): Promise<Response>;
  /**
   * Waits until the backend answers its readiness check (at once when it does). `backstage-cli
   * package start` restarts the backend when a source file changes, so it may go away mid-test.
   */
  waitUntilReady(timeoutMs: number): Promise<void>;
  /** How often the development server restarted the backend because a source file changed. */
  restarts(): number;
  /** Stops the backend and everything it started. */
  stop(): Promise<void>;
  /** Deletes the temporary folder (config, SQLite files, log); kept when a test fails. */
  removeFiles(): void;
}

/** The pool the backend's embedded inference workers serve. */
export const INFERENCE_POOL = 'cpu-dr';
/** How many embedded inference workers the test's backend starts (`embedded-cpu-dr-1`, `-2`). */
export const EMBEDDED_WORKERS = 2;
/** The shipped model, seeded and deployed on {@link INFERENCE_POOL} at start. */
export const INFERENCE_MODEL = 'nhits-price';
/** The input window of {@link INFERENCE_MODEL}: 120 one-minute closes. */
export const INFERENCE_WINDOW = 120;

/** The repository's models folder, where the shipped model's ONNX file is. */
const modelsDir = path.join(repoRoot, 'models');

function overlayConfig(options: {
  port: number;
  token: string;
  dataDir: string;
  simulatorPort: number;
  tmpDir: string;
}): string {
  const baseUrl = `http://localhost:${options.port}`;
  // JSON is YAML: no YAML writer needed.
  return `${JSON.stringify(
    {
      app: { baseUrl },
      backend: {
        baseUrl,
        listen: { port: options.port },
        cors: { origin: baseUrl },
        database: {
          client: 'better-sqlite3',
          connection: { directory: options.dataDir },
        },
        auth: {
          externalAccess: [
            {
              type: 'static',
              options: { token: options.token, subject: 'e2e-tests' },
            },
          ],
        },
      },
      catalog: {
        providers: {
          gekkoGpuPools: {
            // ISO strings, not `{ seconds: 30 }`: config files merge objects key by key, so that
            // would add up with app-config.yaml's `{ minutes: 5 }` to 5 min 30 s.
            schedule: {
              frequency: 'PT30S',
              timeout: 'PT20S',
              initialDelay: 'PT1S',
            },
          },
        },
      },
      gekko: {
        // A signing key of its own (generated into the run's folder), and a checkpoint every 2 s.
        audit: {
          signing: {
            privateKeyFile: path.join(options.tmpDir, 'audit-signing-key.pem'),
            generateIfMissing: true,
            checkpointInterval: 'PT2S',
          },
          archive: { directory: path.join(options.tmpDir, 'audit-archive') },
        },
        gpu: { heartbeatInterval: { seconds: 1 } },
        // A free port of its own, not app-config.yaml's 9464 that `npm start` may hold.
        health: { simulator: { port: options.simulatorPort } },
        inference: {
          // Absolute: the base config's `../../models` holds only from packages/backend.
          modelsDir,
          embedded: { workers: EMBEDDED_WORKERS, pool: INFERENCE_POOL },
          // A free port of its own, not app-config.yaml's 7008 that `npm start` may hold.
          dataPlane: { port: 0, host: '127.0.0.1' },
          models: [
            {
              name: INFERENCE_MODEL,
              version: '1',
              artifact: `${INFERENCE_MODEL}/1/model.onnx`,
              description: 'The shipped price forecaster (end-to-end test)',
              pools: [INFERENCE_POOL],
              maxBatchSize: 64,
              maxQueueDelayMs: 1,
              weight: 100,
            },
            // The retrained version and the deliberately slow one, registered only: the
            // deployments test releases them as canaries (a good one, and one that fails).
            ...['2', '3-slow'].map(version => ({
              name: INFERENCE_MODEL,
              version,
              artifact: `${INFERENCE_MODEL}/${version}/model.onnx`,
              pools: [INFERENCE_POOL],
              maxBatchSize: 64,
              maxQueueDelayMs: 1,
              weight: 0,
            })),
          ],
        },
      },
    },
    null,
    2,
  )}\n`;
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Starts the real portal backend (`yarn workspace backend start`) on a free port, with fresh
 * SQLite files in a temporary folder, and waits until it is ready.
 */
export async function startPortal(
  options: { readinessTimeoutMs?: number } = {},
): Promise<Portal> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-e2e-'));
  const dataDir = path.join(tmpDir, 'data');
  fs.mkdirSync(dataDir);
  const port = await findFreePort();
  const simulatorPort = await findFreePort();
  const token = randomBytes(16).toString('hex');
  const baseUrl = `http://localhost:${port}`;
  const overlay = path.join(tmpDir, 'app-config.e2e.yaml');
  fs.writeFileSync(
    overlay,
    overlayConfig({ port, token, dataDir, simulatorPort, tmpDir }),
  );
  const logFile = path.join(tmpDir, 'backend.log');
  const logFd = fs.openSync(logFile, 'a');

  log(`starting the portal backend on ${baseUrl} (log: ${logFile})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'development',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
  };
  // Jest's own variables must not leak into the backend.
  for (const key of Object.keys(env)) {
    if (key.startsWith('JEST_')) delete env[key];
  }
  const child = spawn(
    process.execPath,
    [
      yarnRelease,
      'workspace',
      'backend',
      'start',
      '--config',
      baseAppConfig(),
      '--config',
      overlay,
    ],
    {
      cwd: repoRoot,
      env,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    },
  );
  fs.closeSync(logFd);

  /** Sends `signal` to the backend's whole process group; false when the group is gone. */
  const signalGroup = (signal: NodeJS.Signals | 0): boolean => {
    if (!child.pid) return false;
    try {
      process.kill(-child.pid, signal);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async () => {
    // The group, not just yarn: backstage-cli and the backend's node run under it.
    if (!signalGroup('SIGTERM')) return;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      await sleep(250);
      if (!signalGroup(0)) return;
    }
    signalGroup('SIGKILL');
  };

  const portal: Portal = {
    baseUrl,
    port,
    token,
    simulatorUrl: `http://127.0.0.1:${simulatorPort}`,
    tmpDir,
    logFile,
    logTail: (lines = 80) => tailOf(logFile, lines),
    api: async (urlPath, init = {}) => {
      const request = () =>
        fetch(`${baseUrl}${urlPath}`, {
          ...init,
          headers: {
            Authorization: `Bearer ${token}`,
            ...(init.body ? { 'Content-Type': 'application/json' } : {}),
            ...(init.headers as Record<string, string> | undefined),
          },
        });
      for (let attempt = 1; ; attempt++) {
        try {
          return await request();
        } catch (error) {
          // Refused: the request never arrived (the backend is restarting), so sending it again
          // is safe even for a POST.
          const code = ((error as Error).cause as { code?: string })?.code;
          if (code !== 'ECONNREFUSED' || attempt >= 3) throw error;
          log(`${urlPath}: connection refused, waiting for the backend`);
          await portal.waitUntilReady(180_000);
        }
      }
    },
    stop,
    removeFiles: () => fs.rmSync(tmpDir, { recursive: true, force: true }),
    restarts: () =>
      (
        fs
          .readFileSync(logFile, 'utf8')
          .match(/Change detected, restarting/g) ?? []
      ).length,
    waitUntilReady: timeoutMs =>
      waitFor(
        `${baseUrl}/.backstage/health/v1/readiness`,
        async () => {
          if (!isAlive(child)) {
            throw new StopWaiting(
              `the backend exited (code ${child.exitCode}, signal ${child.signalCode})`,
            );
          }
          // In development the backend logs a failed start-up and keeps running: give up at once.
          const failed = fs
            .readFileSync(logFile, 'utf8')
            .replace(ANSI_ESCAPES, '')
            .match(/Backend startup failed[^\n]*(\n {2}[^\n]*)*/);
          if (failed) {
            throw new StopWaiting(`the backend failed to start: ${failed[0]}`);
          }
          const res = await fetch(`${baseUrl}/.backstage/health/v1/readiness`);
          return res.ok ? true : undefined;
        },
        { timeoutMs, intervalMs: 1000 },
      ).then(() => undefined),
  };

  try {
    await portal.waitUntilReady(options.readinessTimeoutMs ?? 180_000);
  } catch (error) {
    await stop();
    throw new Error(
      `The portal backend did not become ready: ${
        (error as Error).message
      }\n--- backend output (${logFile}) ---\n${tailOf(logFile, 120)}`,
    );
  }
  log(`portal ready at ${baseUrl}`);
  return portal;
}
