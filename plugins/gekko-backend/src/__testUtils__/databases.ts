import { TestDatabaseId, TestDatabases } from '@backstage/backend-test-utils';

/**
 * `describe.each` over databases that counts the ones it cannot reach as skipped: a database that
 * is not available here (PostgreSQL without `BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING`)
 * gets `describe.skip`, so its tests show up as skipped instead of vanishing, as they do with
 * `describe.each(databases.eachSupportedId())`. `name` may hold `%s` for the database id.
 */
export function describeEachDatabase(
  databases: TestDatabases,
  ids: TestDatabaseId[] = ['POSTGRES_15', 'SQLITE_3'],
): (name: string, fn: (databaseId: TestDatabaseId) => void) => void {
  return (name, fn) => {
    for (const id of ids) {
      const run = databases.supports(id) ? describe : describe.skip;
      run(name.replace('%s', id), () => fn(id));
    }
  };
}
