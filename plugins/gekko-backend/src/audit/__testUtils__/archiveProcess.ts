/*
 * An audit archival in a process of its own, for the kill test (`AuditArchive.test.ts`): it opens
 * the SQLite file the parent names, archives everything due two hours from now, and says `DONE`.
 * With GEKKO_FREEZE_AT (a regular expression), the first log line that matches stops it where it
 * stands (`FROZEN <line>`, then a synchronous wait) for the parent to SIGKILL it there.
 */
import { LoggerService } from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import knexFactory from 'knex';
import fs from 'node:fs';
import { openGekkoDatabase } from '../../database/migrations';
import { signedTrail, signingKey } from './signedTrail';

const options: {
  filename: string;
  directory: string;
  privateKeyPem: string;
  maxRecordsPerFile: number;
} = JSON.parse(process.env.GEKKO_ARCHIVE_PROCESS ?? '{}');
const freezeAt = process.env.GEKKO_FREEZE_AT
  ? new RegExp(process.env.GEKKO_FREEZE_AT)
  : undefined;

function freezeOn(message: string) {
  if (freezeAt?.test(message)) {
    fs.writeSync(1, `FROZEN ${message.replace(/\n/g, ' ')}\n`);
    // Stand still until the parent's SIGKILL.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  }
}

const logger: LoggerService = {
  error: message => {
    freezeOn(message);
    process.stderr.write(`error: ${message}\n`);
  },
  warn: message => freezeOn(message),
  info: message => freezeOn(message),
  debug: message => freezeOn(message),
  child: () => logger,
};

async function main() {
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: options.filename },
    useNullAsDefault: true,
  });
  const db = await openGekkoDatabase(mockServices.database({ knex }));
  const { archive } = signedTrail(db, {
    key: signingKey(options.privateKeyPem),
    logger,
    archive: {
      directory: options.directory,
      olderThanMs: 3_600_000,
      intervalMs: 3_600_000,
      maxRecordsPerFile: options.maxRecordsPerFile,
    },
  });
  await archive!.archiveDue(Date.now() + 2 * 3_600_000);
  await knex.destroy();
  fs.writeSync(1, 'DONE\n');
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
