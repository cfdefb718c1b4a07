// @ts-check

/**
 * At most one deployment in flight per entity and target, enforced by the database: two creates at
 * the same moment cannot both pass a check made before the insert, but only one row can enter this
 * partial unique index (SQLite and PostgreSQL both have them). The states are the final ones of
 * `FINAL_DEPLOYMENT_STATES` as they were when this migration was written.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.raw(
    `CREATE UNIQUE INDEX gekko_deployments_in_flight_idx ON gekko_deployments (entity_ref, target)
     WHERE state NOT IN ('succeeded', 'rolled_back', 'failed')`,
  );
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.raw('DROP INDEX gekko_deployments_in_flight_idx');
};
