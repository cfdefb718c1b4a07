// @ts-check

/**
 * Validated deployments: one row per deployment (its request, plan, snapshot, state and the lease of
 * the replica driving it), and its events (each phase, step and verdict), written before the side
 * effect they describe.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gekko_deployments', table => {
    table.comment(
      'Deployments: what is released where, how, and how far it got; a snapshot of what it replaces',
    );
    table.string('id', 36).primary().notNullable();
    table.string('entity_ref', 255).notNullable();
    table.string('target', 63).notNullable();
    table.string('strategy', 16).notNullable();
    table
      .text('spec')
      .notNullable()
      .comment('JSON: the target-specific request');
    table.text('options').notNullable().comment('JSON: pauses and analysis');
    table.text('plan').notNullable().comment('JSON array of rollout steps');
    table.text('checks').nullable().comment('JSON array of validation checks');
    table
      .text('snapshot')
      .nullable()
      .comment('JSON: what the deployment replaces');
    table.string('state', 16).notNullable();
    table
      .integer('step')
      .notNullable()
      .comment('index of the step being applied or verified');
    table.text('reason').nullable();
    table.string('created_by', 255).notNullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
    table.string('finished_at', 32).nullable();
    table.string('lease_owner', 64).nullable();
    table.bigInteger('lease_expires_at').nullable().comment('epoch ms');
    table.index(['entity_ref', 'created_at'], 'gekko_deployments_entity_idx');
    table.index(['state'], 'gekko_deployments_state_idx');
  });
  await knex.schema.createTable('gekko_deployment_events', table => {
    table.comment('What happened to a deployment, in order');
    table.increments('id').primary();
    table
      .string('deployment_id', 36)
      .notNullable()
      .references('id')
      .inTable('gekko_deployments')
      .onDelete('CASCADE');
    table.string('time', 32).notNullable();
    table.string('kind', 16).notNullable();
    table.string('state', 16).notNullable();
    table.integer('step').nullable();
    table.text('message').notNullable();
    table.text('evidence').nullable().comment('JSON');
    table.index(['deployment_id', 'id'], 'gekko_deployment_events_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gekko_deployment_events');
  await knex.schema.dropTable('gekko_deployments');
};
