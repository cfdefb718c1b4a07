/*
 * Test support for the worker identities (used by this package's tests and the gekko backend's): a
 * private `nats-server` started with a config derived from the shipped `deploy/nats/gekko.conf`,
 * and a throwaway CA with server and client certificates made with `openssl`. Not for production.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { withNatsWorkerUsers } from '../transport/nats/natsServerConfig';

/** The `nats-server` binary (`GEKKO_TEST_NATS_SERVER_BIN` or the usual places), when there is one. */
export function findNatsServerBinary(): string | undefined {
  return [
    process.env.GEKKO_TEST_NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ].find(file => file && fs.existsSync(file));
}

/** The `openssl` binary, when there is one. */
export function findOpensslBinary(): string | undefined {
  return [
    '/usr/bin/openssl',
    '/usr/local/bin/openssl',
    '/opt/homebrew/bin/openssl',
  ].find(file => fs.existsSync(file));
}

/**
 * The NATS server config this repository ships, `deploy/nats/gekko.conf`, found from `from` (the
 * working directory by default) upwards.
 */
export function findShippedNatsConfig(from = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'deploy/nats/gekko.conf');
    if (fs.existsSync(file)) return file;
    if (path.dirname(dir) === dir) {
      throw new Error(`No deploy/nats/gekko.conf in ${from} or above`);
    }
  }
}

/** TLS files of the server, as nats-server's `tls` block takes them. */
export interface NatsTestServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Whether clients must present a certificate signed by `caFile`. */
  verify: boolean;
}

/**
 * The shipped config with `workers` (entries from `natsWorkerUserConfig`) in place of its example
 * workers and, with `tls`, a `tls` block added.
 */
export function derivedNatsConfig(
  workers: string[],
  tls?: NatsTestServerTls,
): string {
  let config = withNatsWorkerUsers(
    fs.readFileSync(findShippedNatsConfig(), 'utf8'),
    workers,
  );
  if (tls) {
    config += `\ntls {\n  cert_file: ${JSON.stringify(
      tls.certFile,
    )}\n  key_file: ${JSON.stringify(tls.keyFile)}\n  ca_file: ${JSON.stringify(
      tls.caFile,
    )}\n  verify: ${tls.verify}\n  timeout: 5\n}\n`;
  }
  return config;
}

/** A free TCP port on 127.0.0.1 (free when asked; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A running private nats-server. */
export interface NatsTestServer {
  port: number;
  /** `nats://127.0.0.1:<port>`. */
  url: string;
  /** What the server logged. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `nats-server -c <dir>/nats.conf` with `config` on a free port of 127.0.0.1, with `env`
 * added to its environment (the passwords the config names), and waits until it is ready.
 */
export async function startNatsTestServer(options: {
  config: string;
  dir: string;
  env?: Record<string, string>;
}): Promise<NatsTestServer> {
  const natsServerBinary = findNatsServerBinary();
  if (!natsServerBinary) throw new Error('No nats-server binary here');
  const file = path.join(options.dir, 'nats.conf');
  // JetStream's store goes to the test's folder, not the deployment's.
  fs.writeFileSync(
    file,
    options.config.replace(
      /store_dir:\s*"[^"]*"/,
      `store_dir: ${JSON.stringify(path.join(options.dir, 'jetstream'))}`,
    ),
  );
  const port = await freePort();
  let text = '';
  const child: ChildProcess = spawn(
    natsServerBinary,
    ['-c', file, '-a', '127.0.0.1', '-p', String(port)],
    {
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<void>(resolve => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      text += chunk;
      if (text.includes('Server is ready')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    exited.then(() =>
      reject(
        new Error(`nats-server exited before it was ready:\n${text.trim()}`),
      ),
    );
  });
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    output: () => text,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client one. */
export interface TestCertificates {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed nothing here: trusting it instead must fail. */
  otherCaFile: string;
}

/** Makes {@link TestCertificates} in `dir` with `openssl` (P-256 keys, valid for a day). */
export function makeTestCertificates(dir: string): TestCertificates {
  const opensslBinary = findOpensslBinary();
  if (!opensslBinary) throw new Error('No openssl binary here');
  const openssl = (...args: string[]) =>
    execFileSync(opensslBinary, args, { cwd: dir, stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const ca = (name: string) =>
    openssl(
      'req',
      '-x509',
      ...key,
      '-nodes',
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-subj',
      `/CN=gekko test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  ca('ca');
  ca('other-ca');
  const leaf = (name: string, usage: string) => {
    fs.writeFileSync(
      path.join(dir, `${name}.ext`),
      `subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=${usage}\nkeyUsage=critical,digitalSignature\n`,
    );
    openssl(
      'req',
      ...key,
      '-nodes',
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=gekko test ${name}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  leaf('server', 'serverAuth');
  leaf('client', 'clientAuth');
  const file = (name: string) => path.join(dir, name);
  return {
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server-key.pem'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client-key.pem'),
    otherCaFile: file('other-ca.pem'),
  };
}
