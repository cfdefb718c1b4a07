import { spawnSync } from 'node:child_process';

/** The variable `TestDatabases` reads PostgreSQL 15's connection string from. */
export const POSTGRES_URL_VARIABLE =
  'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING';

/**
 * Whether PostgreSQL answers at the tests' connection string: a TCP connect, made synchronously so
 * a test file can choose `describe` or `describe.skip` when it loads. When it does not (or the
 * variable is not set), says which tests are skipped and why.
 */
export function postgresAnswers(skipped: string): boolean {
  const url = process.env[POSTGRES_URL_VARIABLE];
  const answers = !!url && connects(url);
  if (!answers) {
    // eslint-disable-next-line no-console
    console.warn(
      `Skipping ${skipped}: it needs PostgreSQL, and ${POSTGRES_URL_VARIABLE} is not set or nothing answers there`,
    );
  }
  return answers;
}

function connects(url: string): boolean {
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
