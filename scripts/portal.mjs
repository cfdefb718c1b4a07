#!/usr/bin/env node
/*
 * The portal's one entry point for people and CI: `npm start`, `npm test`, `npm run bench`.
 *
 * It runs on any Node >= 20 with npm, and does all the set-up itself:
 *   1. Backstage needs Node 22 (24 crashes better-sqlite3): when this Node is not 22, it fetches the
 *      real Node 22 binary from the npm registry (package `node-<platform>-<arch>`) into the
 *      git-ignored `.gekko/toolchain/` and re-runs itself on it.
 *   2. Installs dependencies with the committed Yarn (`.yarn/releases`), native addons built against
 *      that Node's headers; skipped when nothing that affects the install changed.
 *   3. Runs the command: the portal on SQLite files under `.gekko/data/`, or every check and test,
 *      or the benchmarks.
 *
 * Plain JavaScript on purpose: it must run before anything is installed.
 */
import { spawnSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = path.join(root, '.gekko');
const toolchainDir = path.join(stateDir, 'toolchain');
const yarnRelease = path.join(root, '.yarn', 'releases', 'yarn-4.13.0.cjs');
const NODE_MAJOR = 22;
const isCI = Boolean(process.env.CI) && process.env.CI !== 'false';

const command = process.argv[2] ?? 'help';
const commandArgs = process.argv.slice(3);

function log(message) {
  process.stdout.write(`[portal] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[portal] ${message}\n`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    stdio: 'inherit',
    cwd: root,
    ...options,
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** Node's headers next to a node binary, as node-gyp wants them (`<dir>/include/node`). */
function headersDirFor(nodeExec) {
  const dir = path.resolve(path.dirname(nodeExec), '..');
  return fs.existsSync(path.join(dir, 'include', 'node', 'node.h'))
    ? dir
    : undefined;
}

/** Fetches Node 22 from the npm registry (it carries the official binaries), once. */
function fetchNode22() {
  const pkg = `node-${process.platform}-${process.arch}`;
  const target = path.join(toolchainDir, `node-${NODE_MAJOR}`);
  const binary = path.join(
    target,
    'bin',
    process.platform === 'win32' ? 'node.exe' : 'node',
  );
  if (fs.existsSync(binary)) return { binary, headers: target };
  log(
    `Node ${process.versions.node} is not ${NODE_MAJOR}: fetching ${pkg}@${NODE_MAJOR} from the npm registry`,
  );
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'gekko-node-'));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = spawnSync(npm, ['pack', `${pkg}@${NODE_MAJOR}`, '--silent'], {
    cwd: download,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = packed.stdout?.trim().split('\n').pop();
  if (packed.status !== 0 || !tarball) {
    fail(
      `could not fetch ${pkg}@${NODE_MAJOR} with npm pack; install Node ${NODE_MAJOR} and re-run`,
    );
  }
  const unpacked = path.join(download, 'unpacked');
  fs.mkdirSync(unpacked);
  if (run('tar', ['xzf', path.join(download, tarball), '-C', unpacked]) !== 0) {
    fail(`could not unpack ${tarball}`);
  }
  fs.mkdirSync(toolchainDir, { recursive: true });
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(path.join(unpacked, 'package'), target);
  fs.rmSync(download, { recursive: true, force: true });
  log(
    `Node ${spawnSync(binary, ['--version'], {
      encoding: 'utf8',
    }).stdout.trim()} is in ${path.relative(root, target)}`,
  );
  return { binary, headers: target };
}

/** Re-runs this script on Node 22 when needed; returns the environment every child gets. */
function ensureNode() {
  const major = Number(process.versions.node.split('.')[0]);
  const ownHeaders = headersDirFor(process.execPath);
  if (major !== NODE_MAJOR || !ownHeaders) {
    if (process.env.GEKKO_PORTAL_REEXEC)
      fail('Node 22 was fetched but is not the running Node');
    const { binary } = fetchNode22();
    const child = spawnSync(
      binary,
      [fileURLToPath(import.meta.url), ...process.argv.slice(2)],
      {
        stdio: 'inherit',
        env: { ...process.env, GEKKO_PORTAL_REEXEC: '1' },
      },
    );
    process.exit(child.status ?? 1);
  }
  const nodeBin = path.dirname(process.execPath);
  return {
    ...process.env,
    PATH: `${nodeBin}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: ownHeaders,
    // onnxruntime-node's postinstall downloads CUDA binaries from a host that is not the npm
    // registry; the CPU provider ships inside the package. NVIDIA hosts set cuda12 themselves.
    ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip',
    // Never let a stray global yarn or corepack pick another Yarn.
    COREPACK_ENABLE_STRICT: '0',
  };
}

function yarn(env, args, options = {}) {
  return run(process.execPath, [yarnRelease, ...args], { env, ...options });
}

/** Everything that decides what `yarn install` produces. */
function installFingerprint() {
  const hash = createHash('sha256');
  hash.update(process.version);
  const files = ['package.json', 'yarn.lock', '.yarnrc.yml'];
  for (const group of ['packages', 'plugins']) {
    for (const name of fs.readdirSync(path.join(root, group)).sort()) {
      const manifest = path.join(group, name, 'package.json');
      if (fs.existsSync(path.join(root, manifest))) files.push(manifest);
    }
  }
  for (const file of files) {
    hash.update(file);
    hash.update(
      fs.existsSync(path.join(root, file))
        ? fs.readFileSync(path.join(root, file))
        : '',
    );
  }
  return hash.digest('hex');
}

function ensureInstalled(env) {
  const stamp = path.join(stateDir, 'install.stamp');
  const fingerprint = installFingerprint();
  const installed = fs.existsSync(
    path.join(root, 'node_modules', '.yarn-state.yml'),
  );
  if (
    installed &&
    fs.existsSync(stamp) &&
    fs.readFileSync(stamp, 'utf8') === fingerprint
  ) {
    log('dependencies are up to date');
    return;
  }
  log(
    'installing dependencies (a few minutes the first time; native addons build from source)',
  );
  const args = ['install'];
  if (isCI) args.push('--immutable');
  if (yarn(env, args) !== 0) fail('yarn install failed (see above)');
  fs.mkdirSync(stateDir, { recursive: true });
  fs.writeFileSync(stamp, installFingerprint());
}

/** Newest modification time under the given folders (skipping build output). */
function newestMtime(dirs) {
  let newest = 0;
  const walk = dir => {
    if (!fs.existsSync(dir)) return;
    if (!fs.statSync(dir).isDirectory()) {
      newest = Math.max(newest, fs.statSync(dir).mtimeMs);
      return;
    }
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (['node_modules', 'dist', 'dist-types'].includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  dirs.forEach(d => walk(path.join(root, d)));
  return newest;
}

/** The built front end that the end-to-end test serves from the backend; rebuilt when sources change. */
function ensureAppBuilt(env) {
  const stamp = path.join(root, 'packages', 'app', 'dist', 'index.html');
  const sources = [
    'packages/app',
    'plugins/gekko',
    'plugins/gekko-common',
    'app-config.yaml',
  ];
  if (
    fs.existsSync(stamp) &&
    fs.statSync(stamp).mtimeMs > newestMtime(sources)
  ) {
    log('front-end build is up to date');
    return true;
  }
  log('building the front end for the end-to-end test');
  return (
    yarn(env, ['workspace', 'app', 'build'], {
      env: { ...env, NODE_OPTIONS: '--max-old-space-size=4096' },
    }) === 0
  );
}

function reachable(port, host = '127.0.0.1', timeoutMs = 1500) {
  return new Promise(resolve => {
    const socket = net.connect({ port, host });
    const done = ok => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The first of `candidates` (an env override, then usual install paths) that exists. */
function findExecutable(envName, paths) {
  return [process.env[envName], ...paths].find(c => c && fs.existsSync(c));
}

function findChromium() {
  return findExecutable('GEKKO_CHROMIUM', [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  ]);
}

async function serviceEnv(env) {
  const testEnv = { ...env, CI: 'true', BACKSTAGE_TEST_DISABLE_DOCKER: '1' };
  const missing = [];

  /** Sets `testVar` to the service's URL when it answers; says clearly what is skipped when not. */
  const probe = async ({ name, overrideVar, defaultUrl, testVar, runs }) => {
    const url = new URL(process.env[overrideVar] ?? defaultUrl);
    const port = Number(url.port || new URL(defaultUrl).port);
    if (await reachable(port, url.hostname)) {
      testEnv[testVar] = url.href.replace(/\/$/, '');
      log(`${name} answers at ${url.host}: ${runs} run`);
    } else {
      missing.push(name);
      log(
        `SKIPPING ${runs}: nothing answers at ${url.host} (set ${overrideVar})`,
      );
    }
  };
  await probe({
    name: 'PostgreSQL',
    overrideVar: 'GEKKO_TEST_POSTGRES_URL',
    defaultUrl: 'postgresql://postgres@127.0.0.1:5432',
    testVar: 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING',
    runs: 'the PostgreSQL 15 variants of the database tests',
  });
  await probe({
    name: 'NATS',
    overrideVar: 'GEKKO_TEST_NATS_URL',
    defaultUrl: 'nats://127.0.0.1:4222',
    testVar: 'GEKKO_TEST_NATS_URL',
    runs: 'the remote-worker (NATS) transport tests',
  });

  /** Sets `testVar` to the tool's path when installed; says clearly what is skipped when not. */
  const tool = (name, path, testVar, runs, install) => {
    if (path) {
      testEnv[testVar] = path;
      log(`${name} found at ${path}: ${runs} runs`);
    } else {
      missing.push(name);
      log(
        `SKIPPING ${runs}: no ${name} found (Debian: apt-get install ${install})`,
      );
    }
  };
  tool(
    'promtool',
    findExecutable('GEKKO_PROMTOOL', [
      '/usr/bin/promtool',
      '/usr/local/bin/promtool',
      '/opt/homebrew/bin/promtool',
    ]),
    'GEKKO_PROMTOOL',
    'promtool check metrics',
    'prometheus',
  );
  tool(
    'Prometheus',
    findExecutable('GEKKO_PROMETHEUS', [
      '/usr/bin/prometheus',
      '/usr/local/bin/prometheus',
      '/opt/homebrew/bin/prometheus',
    ]),
    'GEKKO_PROMETHEUS',
    'trading health against a real Prometheus',
    'prometheus',
  );
  const chromium = findChromium();
  tool(
    'Chromium',
    chromium,
    'GEKKO_CHROMIUM',
    'the browser end-to-end test',
    'chromium',
  );
  return { testEnv, missing, chromium };
}

async function test(env) {
  const { testEnv, missing, chromium } = await serviceEnv(env);
  const steps = [];
  const step = (name, fn) => {
    log(`── ${name}`);
    const ok = fn();
    steps.push({ name, ok });
    log(`── ${name}: ${ok ? 'ok' : 'FAILED'}`);
  };
  step(
    'config check (embedded, PostgreSQL, NATS)',
    () =>
      yarn(env, ['backstage-cli', 'config:check', '--lax']) === 0 &&
      yarn(env, [
        'backstage-cli',
        'config:check',
        '--lax',
        '--config',
        'app-config.yaml',
        '--config',
        'app-config.postgres.yaml',
      ]) === 0 &&
      yarn(env, [
        'backstage-cli',
        'config:check',
        '--lax',
        '--config',
        'app-config.yaml',
        '--config',
        'app-config.nats.yaml',
      ]) === 0,
  );
  step('type check (tsc)', () => yarn(env, ['tsc']) === 0);
  step('lint (backstage-cli repo lint)', () => yarn(env, ['lint']) === 0);
  step('format (prettier --check)', () => yarn(env, ['prettier:check']) === 0);
  if (chromium) step('front-end build', () => ensureAppBuilt(env));

  const resultsFile = path.join(stateDir, 'jest-results.json');
  fs.rmSync(resultsFile, { force: true });
  log('── tests (backstage-cli repo test)');
  yarn(testEnv, [
    'backstage-cli',
    'repo',
    'test',
    '--json',
    `--outputFile=${resultsFile}`,
    // A fresh worker process for every test file: the backend tests start real backends, worker
    // threads and child processes, and anything one file leaves running (a poller, a timer) would
    // otherwise fail whichever file the same worker runs next, far from its cause.
    '--workerIdleMemoryLimit=1MB',
    ...commandArgs,
  ]);

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (fs.existsSync(resultsFile)) {
    const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
    passed = results.numPassedTests;
    failed = results.numFailedTests;
    skipped = results.numPendingTests + results.numTodoTests;
    // A suite that fails to load has no failed tests of its own; count it.
    for (const suite of results.testResults) {
      // Jest prints an error without message or stack as a blank line; say what it was.
      for (const a of suite.assertionResults) {
        if (a.status !== 'failed') continue;
        const details = JSON.stringify(a.failureDetails ?? []);
        log(
          `failed: ${a.fullName} (${path.relative(root, suite.name)})\n` +
            `  messages: ${a.failureMessages.join(' | ').slice(0, 1500)}\n` +
            `  details: ${details.slice(0, 1500)}`,
        );
      }
      if (suite.status === 'failed' && suite.message) {
        log(
          `suite errors of ${path.relative(
            root,
            suite.name,
          )}: ${suite.message.slice(0, 3000)}`,
        );
      }
      if (
        suite.status === 'failed' &&
        suite.assertionResults.every(a => a.status !== 'failed')
      ) {
        log(`test file failed to run: ${path.relative(root, suite.name)}`);
        failed += 1;
      }
    }
  } else {
    log('the test runner wrote no results');
    failed += 1;
  }
  for (const s of steps) {
    if (s.ok) passed += 1;
    else failed += 1;
  }
  if (isCI && missing.length) {
    log(
      `CI must run every variant, but these are missing: ${missing.join(', ')}`,
    );
    failed += missing.length;
  }
  const failedSteps = steps.filter(s => !s.ok).map(s => s.name);
  if (failedSteps.length) log(`failed checks: ${failedSteps.join(', ')}`);
  process.stdout.write(
    `${passed} passed, ${failed} failed, ${skipped} skipped\n`,
  );
  process.exit(failed > 0 ? 1 : 0);
}

/**
 * Node options of the portal's backend. A young generation of 64 MiB semi-spaces instead of V8's
 * 16 MiB: a scavenge of the backend's large heap costs about 2 ms whatever it frees, and the
 * inference data plane's requests filled the default one about 16 times a second (p99 and
 * throughput at 8 clients, README "Benchmarks"). Costs at most about 150 MiB more memory.
 * plugins/gekko-backend/bin/gekko-bench runs the benchmarks with the same options.
 */
const BACKEND_NODE_OPTIONS = '--max-semi-space-size=64';

function start(env) {
  fs.mkdirSync(path.join(stateDir, 'data'), { recursive: true });
  const extraConfigs = [];
  if (process.env.GEKKO_DATABASE === 'postgres') {
    extraConfigs.push('app-config.postgres.yaml');
    log(
      'data: PostgreSQL (app-config.postgres.yaml, POSTGRES_HOST/PORT/USER/PASSWORD)',
    );
  } else {
    log(
      'data: SQLite files in .gekko/data (GEKKO_DATABASE=postgres for PostgreSQL)',
    );
  }
  if (process.env.GEKKO_NATS) {
    extraConfigs.push('app-config.nats.yaml');
    log(
      `inference: embedded workers, and remote workers over NATS at ${
        process.env.GEKKO_NATS_URL ?? 'nats://127.0.0.1:4222'
      } (app-config.nats.yaml)`,
    );
  } else {
    log(
      'inference: embedded worker threads (GEKKO_NATS=1 also lets remote gekko-worker processes join over NATS)',
    );
  }
  const configArgs = extraConfigs.length
    ? ['../../app-config.yaml', ...extraConfigs.map(f => `../../${f}`)].flatMap(
        f => ['--config', f],
      )
    : [];
  log(
    'starting the portal: front end http://localhost:3000, backend http://localhost:7007',
  );
  const child = spawn(
    process.execPath,
    [yarnRelease, 'dev', ...configArgs, ...commandArgs],
    {
      cwd: root,
      env: {
        ...env,
        NODE_OPTIONS: [env.NODE_OPTIONS, BACKEND_NODE_OPTIONS]
          .filter(Boolean)
          .join(' '),
      },
      stdio: 'inherit',
    },
  );
  const forward = signal => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', code => process.exit(code ?? 0));
}

function bench(env) {
  const out = path.join(stateDir, 'bench');
  fs.mkdirSync(out, { recursive: true });
  const benchEnv = { ...env, GEKKO_BENCH_OUT: out };
  const started = new Date();
  let status = 0;
  for (const workspace of ['@gekko/plugin-gekko-backend', '@gekko/worker']) {
    log(`── benchmark of ${workspace}`);
    const code = yarn(benchEnv, [
      'workspace',
      workspace,
      'bench',
      ...commandArgs,
    ]);
    if (code !== 0) status = code;
  }
  log(`results: ${path.relative(root, out)}/*-latest.json`);
  printBenchSummary(out, started);
  process.exit(status);
}

/**
 * Prints the verdicts the benchmarks wrote (`verdicts` in each `*-latest.json`): every figure with
 * its same-run baseline and whether it met its goal. The goals are defined and judged by the
 * benchmarks themselves (plugins/gekko-backend/src/bench, packages/gekko-worker/src/bench); this
 * only reads them.
 */
function printBenchSummary(out, started) {
  const rows = [];
  let judged = 0;
  let met = 0;
  for (const name of ['inference', 'worker', 'nats', 'audit', 'deployment']) {
    const file = path.join(out, `${name}-latest.json`);
    let results;
    try {
      results = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const time = new Date(results.time);
    if (!(time >= started)) {
      rows.push(
        `  ${name}: no result from this run (${path.basename(file)} is from ${
          results.time
        })`,
      );
      continue;
    }
    for (const v of results.verdicts ?? []) {
      if (v.skipped !== undefined) {
        rows.push(
          `  ${v.figure}: skipped | ${v.skipped} | goal ${v.goalText}, not judged`,
        );
        continue;
      }
      judged += 1;
      if (v.goalMet) met += 1;
      rows.push(
        `  ${v.figure}: ${v.shown.value} | ${v.shown.baseline} | ${
          v.goalMet ? 'met' : 'NOT met'
        } (${v.goalText})`,
      );
    }
  }
  if (rows.length === 0) return;
  process.stdout.write(
    '\nsummary (each figure against a baseline of the same run):\n',
  );
  for (const row of rows) process.stdout.write(`${row}\n`);
  process.stdout.write(`goals met: ${met} of ${judged}\n`);
}

async function main() {
  if (!['start', 'test', 'bench', 'setup'].includes(command)) {
    process.stdout.write(
      'usage: node scripts/portal.mjs start|test|bench|setup\n',
    );
    process.exit(command === 'help' ? 0 : 2);
  }
  const env = ensureNode();
  ensureInstalled(env);
  if (command === 'start') start(env);
  else if (command === 'test') await test(env);
  else if (command === 'bench') bench(env);
}

main().catch(error => fail(error.stack ?? String(error)));
