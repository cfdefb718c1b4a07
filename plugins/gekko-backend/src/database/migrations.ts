import {
  DatabaseService,
  resolvePackagePath,
} from '@backstage/backend-plugin-api';
import { Knex } from 'knex';

const migrationsDir = resolvePackagePath(
  '@gekko/plugin-gekko-backend',
  'migrations',
);

/** Opens the plugin's database and brings its schema up to date. */
export async function openGekkoDatabase(
  database: DatabaseService,
): Promise<Knex> {
  const client = await database.getClient();
  if (String(client.client.config.client).includes('sqlite')) {
    // Write-ahead logging: one fsync per commit instead of a rollback journal's several, and readers
    // (verify, queries) never block the appender. Durable across process kills, as before.
    await client.raw('PRAGMA journal_mode = WAL');
  }
  if (!database.migrations?.skip) {
    await client.migrate.latest({ directory: migrationsDir });
  }
  return client;
}
