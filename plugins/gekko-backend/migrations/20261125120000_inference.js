// @ts-check

/**
 * Model versions of the inference gateway, and the GPU utilization history (one row per worker per
 * minute) behind the 24-hour charts.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gekko_model_versions', table => {
    table.comment(
      'Model versions: an ONNX artifact in the models folder, the pools that serve it, and its traffic weight',
    );
    table.string('name', 63).notNullable();
    table.string('version', 64).notNullable();
    table.string('artifact', 500).notNullable();
    table.string('sha256', 64).notNullable();
    table.bigInteger('size_bytes').notNullable();
    table.text('description').nullable();
    table.text('inputs').notNullable().comment('JSON array of tensor specs');
    table.text('outputs').notNullable().comment('JSON array of tensor specs');
    table.text('pools').notNullable().comment('JSON array of pool names');
    table.string('state', 16).notNullable();
    table.integer('weight').notNullable();
    table.integer('max_batch_size').notNullable();
    table.double('max_queue_delay_ms').notNullable();
    table.string('source', 8).notNullable();
    table.string('created_at', 32).notNullable();
    table.string('updated_at', 32).notNullable();
    table.primary(['name', 'version']);
  });

  await knex.schema.createTable('gekko_gpu_telemetry', table => {
    table.comment(
      'Per-worker utilization, one row per minute (averages; p99 is the highest seen)',
    );
    table.string('worker_id', 200).notNullable();
    table.string('pool', 63).notNullable();
    table.string('accelerator', 8).notNullable();
    table
      .bigInteger('minute')
      .notNullable()
      .comment('epoch ms, start of minute');
    table.integer('samples').notNullable();
    table.double('utilization_percent').nullable();
    table.double('memory_used_bytes').nullable();
    table.double('memory_total_bytes').nullable();
    table.double('temperature_celsius').nullable();
    table.double('power_watts').nullable();
    table.double('requests_per_second').nullable();
    table.double('queue_depth').nullable();
    table.double('p99_ms').nullable();
    table.primary(['worker_id', 'minute']);
    table.index(['pool', 'minute'], 'gekko_gpu_telemetry_pool_minute');
    table.index(['minute'], 'gekko_gpu_telemetry_minute');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gekko_gpu_telemetry');
  await knex.schema.dropTable('gekko_model_versions');
};
