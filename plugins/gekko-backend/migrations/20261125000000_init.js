// @ts-check

/**
 * GPU pools and the hash-chained audit trail.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gekko_gpu_pools', table => {
    table.comment(
      'GPU pools: seeded from config gekko.gpuPools or created through the API',
    );
    table.string('name', 63).primary().notNullable();
    table.string('title', 100).notNullable();
    table.text('description').nullable();
    table.string('accelerator', 8).notNullable();
    table.string('region', 63).notNullable();
    table.integer('devices').notNullable();
    table.double('memory_gib').notNullable();
    table.string('owner', 255).notNullable();
    table
      .text('node_selector')
      .notNullable()
      .comment('JSON object of label key/value');
    table.string('source', 8).notNullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
  });

  await knex.schema.createTable('gekko_audit_records', table => {
    table.comment(
      'Append-only, hash-chained audit trail; no code path updates or deletes rows',
    );
    table.bigInteger('seq').primary().notNullable();
    table.string('time', 32).notNullable();
    table.string('actor', 300).notNullable();
    table.string('action', 100).notNullable();
    table.string('target', 300).nullable();
    table.string('outcome', 8).notNullable();
    table.string('request_id', 100).nullable();
    table.text('details').notNullable();
    table
      .text('canonical')
      .notNullable()
      .comment('canonical JSON of the fields above, as hashed');
    table.string('prev_hash', 64).notNullable();
    table.string('hash', 64).notNullable();
    table.index(['target', 'seq'], 'gekko_audit_target_idx');
    table.index(['actor', 'seq'], 'gekko_audit_actor_idx');
    table.index(['action', 'seq'], 'gekko_audit_action_idx');
    table.index(['time'], 'gekko_audit_time_idx');
  });

  // One row: the chain's head. Appenders lock it (SELECT ... FOR UPDATE on PostgreSQL), which
  // serializes appends across backend instances; verify also checks the chain ends where it says.
  await knex.schema.createTable('gekko_audit_head', table => {
    table.integer('id').primary().notNullable();
    table.bigInteger('seq').notNullable();
    table.string('hash', 64).notNullable();
  });
  await knex('gekko_audit_head').insert({
    id: 1,
    seq: 0,
    hash: '0'.repeat(64),
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gekko_audit_head');
  await knex.schema.dropTable('gekko_audit_records');
  await knex.schema.dropTable('gekko_gpu_pools');
};
