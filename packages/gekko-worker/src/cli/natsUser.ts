import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { nkeys } from '@nats-io/transport-node';
import {
  natsWorkerPasswordVariable,
  natsWorkerUserConfig,
  natsWorkerUserName,
} from '../transport/nats/natsServerConfig';
import {
  DEFAULT_SUBJECT_PREFIX,
  isSafeNatsToken,
  isValidSubjectPrefix,
} from '../transport/nats/subjects';
import type { CliIo } from './main';
import { CliUsageError } from './parseCliArgs';

/** What `gekko-worker nats-user --help` prints. */
export const NATS_USER_HELP = `Usage: gekko-worker nats-user --pool <name> --id <id> [options]

Makes a worker's own NATS identity: prints its entry for the users list of the NATS server's
config (deploy/nats/gekko.conf), whose permissions confine it to that pool and worker id.

Options:
  --pool <name>               the worker's GPU pool
  --id <id>                   the worker's id (gekko-worker --id)
  --nkey-seed-out <file>      make an nkey: write its seed to this new file (mode 600) for the
                              worker (gekko-worker --nkey-seed <file>); the config gets the
                              public key only. Recommended.
  --password-variable <name>  without --nkey-seed-out: the user is <pool>/<id> and its password
                              the server's environment variable <name> (default
                              GEKKO_NATS_PASSWORD_<POOL>__<ID>)
  --subject-prefix <p>        NATS subject prefix (default ${DEFAULT_SUBJECT_PREFIX})
  -h, --help                  show this help
`;

function readArgs(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        pool: { type: 'string' },
        id: { type: 'string' },
        'nkey-seed-out': { type: 'string' },
        'password-variable': { type: 'string' },
        'subject-prefix': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    const option = /'(-{1,2}[^'=\s]+)/.exec((error as Error).message)?.[1];
    throw new CliUsageError(
      `${option ?? 'an argument'}: ${
        (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
          ? 'unknown option'
          : 'not understood; every option is --name <value>'
      }`,
    );
  }
}

/**
 * `gekko-worker nats-user`: prints a worker's entry for the NATS server's config on stdout and, with
 * `--nkey-seed-out`, writes its new nkey seed to that file. Resolves with the exit code.
 */
export async function runNatsUser(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    values = readArgs(argv);
    if (values.help) {
      io.stdout(NATS_USER_HELP);
      return 0;
    }
    for (const flag of ['pool', 'id'] as const) {
      const value = values[flag];
      if (!value || !isSafeNatsToken(value)) {
        throw new CliUsageError(
          `--${flag}: ${
            value === undefined ? 'required' : `${JSON.stringify(value)} is not`
          } a NATS subject token (letters, digits, '-' and '_')`,
        );
      }
    }
    const prefix = values['subject-prefix'] ?? DEFAULT_SUBJECT_PREFIX;
    if (!isValidSubjectPrefix(prefix)) {
      throw new CliUsageError(
        `--subject-prefix: ${JSON.stringify(prefix)} is not a subject prefix`,
      );
    }
    if (values['nkey-seed-out'] && values['password-variable']) {
      throw new CliUsageError(
        '--nkey-seed-out and --password-variable: choose an nkey or a password, not both',
      );
    }
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.stderr(
        `gekko-worker nats-user: ${error.message}\nRun gekko-worker nats-user --help for the options.\n`,
      );
      return 2;
    }
    throw error;
  }
  const pool = values.pool!;
  const id = values.id!;
  const subjectPrefix = values['subject-prefix'];
  const seedFile = values['nkey-seed-out'];

  if (seedFile) {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    try {
      // 'wx': never overwrite a seed someone already uses.
      fs.writeFileSync(seedFile, `${seed}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      io.stderr(
        `gekko-worker nats-user: --nkey-seed-out: cannot create ${seedFile}: ${
          (error as NodeJS.ErrnoException).code ?? String(error)
        }\n`,
      );
      return 1;
    }
    io.stdout(
      `${natsWorkerUserConfig({
        pool,
        id,
        subjectPrefix,
        nkey: user.getPublicKey(),
      })}\n`,
    );
    io.stderr(
      `Add the entry above to the users of deploy/nats/gekko.conf and reload the server (nats-server --signal reload).\nGive ${seedFile} to the worker host only: gekko-worker --pool ${pool} --id ${id} --nkey-seed <file>\n`,
    );
    return 0;
  }

  const variable =
    values['password-variable'] ?? natsWorkerPasswordVariable(pool, id);
  let entry;
  try {
    entry = natsWorkerUserConfig({
      pool,
      id,
      subjectPrefix,
      passwordVariable: variable,
    });
  } catch (error) {
    io.stderr(
      `gekko-worker nats-user: --password-variable: ${
        (error as Error).message
      }\n`,
    );
    return 2;
  }
  io.stdout(`${entry}\n`);
  io.stderr(
    `Add the entry above to the users of deploy/nats/gekko.conf, set ${variable} in the NATS server's environment to a long random password and reload it.\nOn the worker host: GEKKO_NATS_USER=${natsWorkerUserName(
      pool,
      id,
    )} and the password in GEKKO_NATS_PASSWORD or a file (--password-file); gekko-worker --pool ${pool} --id ${id}\n`,
  );
  return 0;
}
