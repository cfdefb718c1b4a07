// @ts-check

/**
 * Alerts of the trading services: each one that fired, and when it resolved. A restarted backend
 * reads the firing ones back, so it neither forgets them nor notifies their owners twice.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gekko_trading_alerts', table => {
    table.string('id', 32).primary();
    table.string('entity_ref', 255).notNullable();
    table.string('rule', 100).notNullable();
    table.text('labels').notNullable();
    table.string('severity', 16).notNullable();
    table.string('state', 16).notNullable();
    table.text('summary').notNullable();
    table.string('active_at', 32).notNullable();
    table.string('fired_at', 32);
    table.string('resolved_at', 32);
    table.index(['entity_ref', 'fired_at'], 'gekko_trading_alerts_entity_idx');
    table.index(['state'], 'gekko_trading_alerts_state_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gekko_trading_alerts');
};
