import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { NatsAuth, NatsTls } from '../transport/nats/connectNats';
import {
  DEFAULT_SUBJECT_PREFIX,
  isSafeNatsToken,
  isValidSubjectPrefix,
} from '../transport/nats/subjects';

/** What `gekko-worker --help` prints. */
export const CLI_HELP = `Usage: gekko-worker --nats <url[,url]> --pool <name> [options]
       gekko-worker nats-user --pool <name> --id <id> [--nkey-seed-out <file>]

Runs a Gekko inference worker that dials out to NATS, joins a GPU pool and serves its models.

Options:
  --nats <url[,url]>      NATS server URLs (env GEKKO_NATS_URL)
  --pool <name>           the GPU pool to join (env GEKKO_POOL)
  --id <id>               worker id: letters, digits, '-' and '_' (default: host-pid-random)
  --models-dir <dir>      local copy of the models (env GEKKO_MODELS_DIR); models missing
                          here are fetched from the control plane
  --nkey-seed <file>      NATS nkey seed file (env GEKKO_NATS_NKEY_SEED)
  --password-file <file>  file holding the password of GEKKO_NATS_USER
                          (env GEKKO_NATS_PASSWORD_FILE)
  --creds <file>          NATS credentials file (JWT + nkey seed) (env GEKKO_NATS_CREDS)
  --tls-ca <file>         trust this CA for TLS to NATS (env GEKKO_NATS_TLS_CA)
  --tls-cert <file>       client certificate, for servers that verify clients
  --tls-key <file>        its key (env GEKKO_NATS_TLS_CERT, GEKKO_NATS_TLS_KEY)
  --heartbeat-ms <ms>     heartbeat interval (default 1000)
  --threads <n>           onnxruntime intra-op threads per inference (default: all cores)
  --subject-prefix <p>    NATS subject prefix (default ${DEFAULT_SUBJECT_PREFIX})
  -h, --help              show this help

Secrets are never taken from the command line (other users see it in ps): set
GEKKO_NATS_USER with GEKKO_NATS_PASSWORD or --password-file, or GEKKO_NATS_TOKEN, or use
--nkey-seed / --creds. Each worker should have its own NATS identity, which the server
confines to its pool and id: \`gekko-worker nats-user\` makes one (deploy/nats/README.md).
`;

/** A command line the worker cannot run with; the message names the flag. Exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** The worker's configuration from its command line and environment. */
export interface CliConfig {
  servers: string[];
  pool: string;
  id?: string;
  modelsDir?: string;
  auth?: NatsAuth;
  tls?: NatsTls;
  heartbeatIntervalMs?: number;
  intraOpThreads?: number;
  subjectPrefix: string;
}

/** Options that would put a secret on the command line. */
const SECRET_FLAGS: Record<string, string> = {
  token: 'set GEKKO_NATS_TOKEN instead',
  password: 'set GEKKO_NATS_PASSWORD instead',
  pass: 'set GEKKO_NATS_PASSWORD instead',
  user: 'set GEKKO_NATS_USER and GEKKO_NATS_PASSWORD instead',
};

/** Hides the user and password a NATS URL may carry. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

function parseServers(value: string, flag: string): string[] {
  const servers = value
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (servers.length === 0) {
    throw new CliUsageError(`${flag}: give at least one NATS URL`);
  }
  for (const server of servers) {
    let url: URL | undefined;
    try {
      url = new URL(/^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`);
    } catch {
      url = undefined;
    }
    if (!url || !['nats:', 'tls:'].includes(url.protocol) || !url.hostname) {
      throw new CliUsageError(
        `${flag}: ${JSON.stringify(
          redactUrl(server),
        )} is not a NATS URL (like nats://nats.example.com:4222)`,
      );
    }
    if (flag === '--nats' && (url.username || url.password)) {
      throw new CliUsageError(
        `--nats: ${JSON.stringify(
          redactUrl(server),
        )} carries credentials, which other users can read in ps: set GEKKO_NATS_USER and GEKKO_NATS_PASSWORD instead`,
      );
    }
  }
  return servers;
}

function parseInteger(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new CliUsageError(
      `${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(
        value,
      )}`,
    );
  }
  return n;
}

function readableFile(flag: string, file: string | undefined) {
  if (file === undefined) return undefined;
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (!fs.statSync(file).isFile()) throw new Error('not a file');
  } catch {
    throw new CliUsageError(`${flag}: cannot read the file ${file}`);
  }
  return file;
}

/**
 * Reads the worker's configuration from `argv` (without node and the script) and `env`.
 * Returns `'help'` for `--help`; throws a {@link CliUsageError} for bad input.
 */
export function parseCliArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): CliConfig | 'help' {
  for (const arg of argv) {
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name && Object.hasOwn(SECRET_FLAGS, name)) {
      throw new CliUsageError(
        `--${name} is not accepted on the command line, where other users can read it in ps: ${SECRET_FLAGS[name]}`,
      );
    }
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        nats: { type: 'string' },
        pool: { type: 'string' },
        id: { type: 'string' },
        'models-dir': { type: 'string' },
        creds: { type: 'string' },
        'nkey-seed': { type: 'string' },
        'password-file': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        threads: { type: 'string' },
        'subject-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    // parseArgs' own messages quote the argument, which may hold a value: name the option only.
    const option = /'(-{1,2}[^'=\s]+)/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new CliUsageError(`${option ?? 'an option'}: unknown option`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new CliUsageError(
        `${option ?? 'an option'}: ${
          /argument missing/.test(message)
            ? 'needs a value'
            : 'does not take a value'
        }`,
      );
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new CliUsageError(
        'unexpected argument: every option is --name <value>',
      );
    }
    throw new CliUsageError(message);
  }
  if (values.help) return 'help';

  const nats = values.nats ?? env.GEKKO_NATS_URL;
  if (!nats) {
    throw new CliUsageError(
      '--nats: required (or set GEKKO_NATS_URL), e.g. --nats nats://nats.example.com:4222',
    );
  }
  const servers = parseServers(
    nats,
    values.nats !== undefined ? '--nats' : 'GEKKO_NATS_URL',
  );

  const pool = (values.pool ?? env.GEKKO_POOL ?? '').trim();
  if (!pool) {
    throw new CliUsageError(
      '--pool: required (or set GEKKO_POOL), e.g. --pool cuda-primary',
    );
  }
  if (!isSafeNatsToken(pool)) {
    throw new CliUsageError(
      `--pool: ${JSON.stringify(
        pool,
      )} is not a pool name: letters, digits, '-' and '_' (up to 128)`,
    );
  }

  if (values.id !== undefined && !isSafeNatsToken(values.id)) {
    throw new CliUsageError(
      `--id: ${JSON.stringify(
        values.id,
      )} is not a valid worker id: use letters, digits, '-' and '_' (up to 128)`,
    );
  }

  const modelsDir = values['models-dir'] ?? env.GEKKO_MODELS_DIR;
  if (modelsDir !== undefined) {
    let isDir = false;
    try {
      isDir = fs.statSync(modelsDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new CliUsageError(`--models-dir: ${modelsDir} is not a folder`);
    }
  }

  const subjectPrefix = values['subject-prefix'] ?? DEFAULT_SUBJECT_PREFIX;
  if (!isValidSubjectPrefix(subjectPrefix)) {
    throw new CliUsageError(
      `--subject-prefix: ${JSON.stringify(
        subjectPrefix,
      )} is not a subject prefix: tokens of letters, digits, '-' and '_' separated by dots`,
    );
  }

  const auth: NatsAuth = {
    token: env.GEKKO_NATS_TOKEN || undefined,
    user: env.GEKKO_NATS_USER || undefined,
    pass: env.GEKKO_NATS_PASSWORD || undefined,
    passFile: readableFile(
      '--password-file',
      values['password-file'] ?? (env.GEKKO_NATS_PASSWORD_FILE || undefined),
    ),
    credsFile: readableFile(
      '--creds',
      values.creds ?? (env.GEKKO_NATS_CREDS || undefined),
    ),
    nkeySeedFile: readableFile(
      '--nkey-seed',
      values['nkey-seed'] ?? (env.GEKKO_NATS_NKEY_SEED || undefined),
    ),
  };
  if (auth.pass && auth.passFile) {
    throw new CliUsageError(
      'GEKKO_NATS_PASSWORD and --password-file: give the password one way, not both',
    );
  }
  if (Boolean(auth.user) !== Boolean(auth.pass || auth.passFile)) {
    throw new CliUsageError(
      auth.passFile
        ? '--password-file: set GEKKO_NATS_USER too'
        : 'GEKKO_NATS_USER and GEKKO_NATS_PASSWORD (or --password-file): set both or neither',
    );
  }
  const methods = [
    auth.token && 'GEKKO_NATS_TOKEN',
    auth.user &&
      (auth.passFile
        ? 'GEKKO_NATS_USER/--password-file'
        : 'GEKKO_NATS_USER/GEKKO_NATS_PASSWORD'),
    auth.credsFile && '--creds',
    auth.nkeySeedFile && '--nkey-seed',
  ].filter(Boolean);
  if (methods.length > 1) {
    throw new CliUsageError(
      `${methods.join(' and ')}: give one way to authenticate, not ${
        methods.length
      }`,
    );
  }

  const tls: NatsTls = {
    caFile: readableFile(
      '--tls-ca',
      values['tls-ca'] ?? (env.GEKKO_NATS_TLS_CA || undefined),
    ),
    certFile: readableFile(
      '--tls-cert',
      values['tls-cert'] ?? (env.GEKKO_NATS_TLS_CERT || undefined),
    ),
    keyFile: readableFile(
      '--tls-key',
      values['tls-key'] ?? (env.GEKKO_NATS_TLS_KEY || undefined),
    ),
  };
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new CliUsageError(
      `${
        tls.certFile ? '--tls-key' : '--tls-cert'
      }: a client certificate needs both --tls-cert and --tls-key`,
    );
  }

  return {
    servers,
    pool,
    id: values.id,
    modelsDir,
    auth: methods.length ? auth : undefined,
    tls: tls.caFile || tls.certFile ? tls : undefined,
    heartbeatIntervalMs: parseInteger(
      '--heartbeat-ms',
      values['heartbeat-ms'],
      50,
      60_000,
    ),
    intraOpThreads: parseInteger('--threads', values.threads, 1, 1024),
    subjectPrefix,
  };
}
