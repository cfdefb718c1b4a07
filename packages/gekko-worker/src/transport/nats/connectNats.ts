import fs from 'node:fs';
import {
  Authenticator,
  connect,
  credsAuthenticator,
  NatsConnection,
  NodeConnectionOptions,
  nkeyAuthenticator,
} from '@nats-io/transport-node';

/**
 * How to authenticate to NATS. Give one of: a token, a user and password (or a file holding the
 * password), a `.creds` file (JWT + nkey seed, as `nsc` writes them) or an nkey seed file. Files
 * are read when connecting.
 */
export interface NatsAuth {
  token?: string;
  user?: string;
  pass?: string;
  /** A file whose first line is the password of `user`. */
  passFile?: string;
  credsFile?: string;
  nkeySeedFile?: string;
}

/**
 * TLS to NATS (PEM files). `caFile` trusts a private CA; `certFile` and `keyFile` are this side's
 * certificate for servers that verify clients (`verify: true`). Any of them makes TLS required.
 */
export interface NatsTls {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** What both sides of the NATS transport need to reach the server. */
export interface NatsLinkOptions {
  /** One URL or several of the same cluster, e.g. `nats://nats.internal:4222`. */
  servers: string | string[];
  auth?: NatsAuth;
  tls?: NatsTls;
  /** The client name the server shows in its connection list. */
  name?: string;
  /** Where replies to this side's requests go; `_INBOX` by default. */
  inboxPrefix?: string;
}

/** Which kind of credentials `auth` holds, for logs: never the secret itself. */
export function describeNatsAuth(auth: NatsAuth | undefined): string {
  if (!auth) return 'no credentials';
  const kinds: string[] = [];
  if (auth.token) kinds.push('token');
  if (auth.user) {
    kinds.push(`user ${auth.user}${auth.passFile ? ` (password file)` : ''}`);
  }
  if (auth.credsFile) kinds.push(`creds file ${auth.credsFile}`);
  if (auth.nkeySeedFile) kinds.push(`nkey seed file ${auth.nkeySeedFile}`);
  return kinds.length ? kinds.join(' + ') : 'no credentials';
}

/** Whether `tls` asks for TLS, and with which files, for logs. */
export function describeNatsTls(tls: NatsTls | undefined): string {
  if (!tls || !(tls.caFile || tls.certFile || tls.keyFile)) {
    return 'TLS if the URL or server asks for it';
  }
  const parts = [tls.caFile ? `CA ${tls.caFile}` : 'system CAs'];
  if (tls.certFile) parts.push(`client certificate ${tls.certFile}`);
  return `TLS (${parts.join(', ')})`;
}

function readSecretFile(file: string, what: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(
      `Cannot read the NATS ${what} ${file}: ${
        (error as NodeJS.ErrnoException).code ?? String(error)
      }`,
    );
  }
}

/** The nats.js connection options for `options`; reads credential files. */
export function natsConnectionOptions(
  options: NatsLinkOptions,
): NodeConnectionOptions {
  const { auth, tls } = options;
  const authenticators: Authenticator[] = [];
  let pass = auth?.pass;
  if (auth?.passFile) {
    pass = new TextDecoder()
      .decode(readSecretFile(auth.passFile, 'password file'))
      .split(/\r?\n/)[0];
  }
  const useTls = Boolean(tls && (tls.caFile || tls.certFile || tls.keyFile));
  if (tls?.certFile && !tls.keyFile) {
    throw new Error(
      `The NATS client certificate ${tls.certFile} needs its key file too`,
    );
  }
  if (useTls) {
    // nats.js reads them itself; check first, for a message that names the file.
    for (const [file, what] of [
      [tls?.caFile, 'TLS CA file'],
      [tls?.certFile, 'TLS certificate file'],
      [tls?.keyFile, 'TLS key file'],
    ] as const) {
      if (file) readSecretFile(file, what);
    }
  }
  if (auth?.credsFile) {
    authenticators.push(
      credsAuthenticator(readSecretFile(auth.credsFile, 'creds file')),
    );
  }
  if (auth?.nkeySeedFile) {
    const seed = new TextDecoder()
      .decode(readSecretFile(auth.nkeySeedFile, 'nkey seed file'))
      .trim();
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }
  return {
    servers: options.servers,
    name: options.name,
    ...(auth?.token ? { token: auth.token } : {}),
    ...(auth?.user ? { user: auth.user, pass } : {}),
    ...(authenticators.length ? { authenticator: authenticators } : {}),
    ...(useTls
      ? {
          tls: {
            ...(tls?.caFile ? { caFile: tls.caFile } : {}),
            ...(tls?.certFile ? { certFile: tls.certFile } : {}),
            ...(tls?.keyFile ? { keyFile: tls.keyFile } : {}),
          },
        }
      : {}),
    ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
    // Creating an Error per request for async stack traces costs more than the request itself.
    noAsyncTraces: true,
  };
}

/** Connects to NATS; reconnects forever (with jitter) after the first connection. */
export function connectNats(
  options: NatsLinkOptions,
  overrides: Partial<NodeConnectionOptions> = {},
): Promise<NatsConnection> {
  return connect({
    maxReconnectAttempts: -1,
    ...natsConnectionOptions(options),
    ...overrides,
  });
}
