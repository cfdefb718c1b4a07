// @ts-check

/**
 * Signed checkpoints of the audit chain, and the segments of it that were archived to files.
 *
 * A checkpoint is the backend's Ed25519 signature over one record's seq and hash: verify checks that
 * the chain passes through every checkpoint, so a consistent rewrite of the records and the head
 * row is caught without the private key. A segment is a run of records, from just after one
 * checkpoint to another, moved to a compressed JSONL file; its row is written in the transaction
 * that deletes those records, after the file is on disk.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gekko_audit_checkpoints', table => {
    table.comment(
      'Ed25519-signed (seq, hash, time) of the audit chain; verify checks the chain passes through each',
    );
    table.bigInteger('seq').primary().notNullable();
    table.string('hash', 64).notNullable();
    table.string('time', 32).notNullable();
    table.string('key_id', 16).notNullable();
    table.string('signature', 128).notNullable();
  });
  await knex.schema.createTable('gekko_audit_segments', table => {
    table.comment(
      'Audit records archived to compressed JSONL files, each from just after a checkpoint to a checkpoint',
    );
    table.bigInteger('from_seq').primary().notNullable();
    table.bigInteger('to_seq').notNullable();
    table.string('file', 200).notNullable();
    table.string('sha256', 64).notNullable();
    table.string('last_hash', 64).notNullable();
    table.string('archived_at', 32).notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gekko_audit_segments');
  await knex.schema.dropTable('gekko_audit_checkpoints');
};
