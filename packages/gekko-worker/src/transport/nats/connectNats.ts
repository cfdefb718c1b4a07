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
 * How to authenticate to NATS. Give one of: a token, a user and password, a `.creds` file
 * (JWT + nkey seed, as `nsc` writes them) or an nkey seed file. Files are read when connecting.
 */
export interface NatsAuth {
  token?: string;
  user?: string;
  pass?: string;
  credsFile?: string;
  nkeySeedFile?: string;
}

/** What both sides of the NATS transport need to reach the server. */
export interface NatsLinkOptions {
  /** One URL or several of the same cluster, e.g. `nats://nats.internal:4222`. */
  servers: string | string[];
  auth?: NatsAuth;
  /** The client name the server shows in its connection list. */
  name?: string;
}

/** Which kind of credentials `auth` holds, for logs: never the secret itself. */
export function describeNatsAuth(auth: NatsAuth | undefined): string {
  if (!auth) return 'no credentials';
  const kinds: string[] = [];
  if (auth.token) kinds.push('token');
  if (auth.user) kinds.push(`user ${auth.user}`);
  if (auth.credsFile) kinds.push(`creds file ${auth.credsFile}`);
  if (auth.nkeySeedFile) kinds.push(`nkey seed file ${auth.nkeySeedFile}`);
  return kinds.length ? kinds.join(' + ') : 'no credentials';
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
  const { auth } = options;
  const authenticators: Authenticator[] = [];
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
    ...(auth?.user ? { user: auth.user, pass: auth.pass } : {}),
    ...(authenticators.length ? { authenticator: authenticators } : {}),
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
