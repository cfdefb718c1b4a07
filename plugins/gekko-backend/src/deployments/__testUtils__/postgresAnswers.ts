import { spawnSync } from 'node:child_process';

/** The variable `TestDatabases` reads PostgreSQL 15's connection string from. */
export const POSTGRES_URL_VARIABLE =
  'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';

/**
 * Whether PostgreSQL answers at the tests' connection string: a TCP connect, made synchronously so
 * a test file can choose `it` or `it.skip` when it loads. False when the variable is not set.
 */
export function postgresAnswers(): boolean {
  const url = process.env[POSTGRES_URL_VARIABLE];
  if (!url) return false;
  const { hostname, port } = new URL(url);
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:net').connect(${Number(port) || 5432}, ${JSON.stringify(
        hostname || '127.0.0.1',
      )}).on('connect', () => process.exit(0)).on('error', () => process.exit(1))`,
    ],
    { timeout: 5_000 },
  );
  return probe.status === 0;
}
