import { Knex } from 'knex';
import { AuditRow, canonicalOfRow, RECORDS } from './auditRows';

/**
 * One record as verify reads it: `[seq, canonical, prevHash, hash, fieldsMatch]`. `fieldsMatch`
 * says whether the stored columns (actor, action, …) rebuild exactly the canonical JSON that was
 * hashed; the database computes it, so that verify reads three strings per record instead of ten.
 */
export type ChainRow = [number, string, string, string, boolean];

/** The columns and the canonical JSON rebuilt from them, as `canonicalAuditRecordWithDetails` writes it. */
function rebuiltCanonicalSql(dialect: 'sqlite' | 'pg'): string {
  const q =
    dialect === 'sqlite'
      ? (c: string) => `json_quote(${c})`
      : (c: string) => `coalesce(to_json(${c})::text, 'null')`;
  const seq = dialect === 'sqlite' ? 'seq' : 'seq::text';
  return (
    `'{"action":' || ${q('action')} || ',"actor":' || ${q('actor')} || ` +
    `',"details":' || details || ',"outcome":' || ${q('outcome')} || ` +
    `',"requestId":' || ${q('request_id')} || ',"seq":' || ${seq} || ` +
    `',"target":' || ${q('target')} || ',"time":' || ${q('time')} || '}'`
  );
}

/**
 * Reads the live chain for verify, a page at a time, as fast as the driver allows: on SQLite
 * (better-sqlite3) and PostgreSQL (pg) straight from the driver as arrays, without knex's row
 * objects, which cost more than the hashing. Any other client goes through knex.
 *
 * Where the database says a record's columns do not rebuild its canonical JSON, the record is read
 * again in full and rebuilt here, so that a difference in how the database quotes JSON strings can
 * never pass for tampering (nor hide it: the hash is always computed from the canonical JSON).
 */
export class ChainReader {
  private readonly dialect: 'sqlite' | 'pg' | 'other';
  private readonly sql: string | undefined;

  constructor(private readonly db: Knex) {
    const client = String(db.client.config.client);
    if (client.includes('sqlite')) this.dialect = 'sqlite';
    else if (client === 'pg' || client.includes('postgres'))
      this.dialect = 'pg';
    else this.dialect = 'other';
    if (this.dialect === 'sqlite') {
      this.sql = `SELECT seq, canonical, prev_hash, hash, (${rebuiltCanonicalSql(
        'sqlite',
      )}) = canonical FROM ${RECORDS} WHERE seq > ? AND seq <= ? ORDER BY seq`;
    } else if (this.dialect === 'pg') {
      this.sql = `SELECT seq, canonical, prev_hash, hash, (${rebuiltCanonicalSql(
        'pg',
      )}) = canonical FROM ${RECORDS} WHERE seq > $1 AND seq <= $2 ORDER BY seq`;
    }
  }

  /**
   * Records with `afterSeq < seq <= toSeq`, in order, a page per `pageSize` sequence numbers. Pages
   * are closed ranges of seq rather than `LIMIT`s: PostgreSQL then always plans an index range scan,
   * even before it has statistics of the table (with `seq > $1 ORDER BY seq LIMIT n` on a table
   * just filled it sorted the whole rest of it for every page: a second per page at 1M records).
   * Empty ranges are skipped, so a record with a far-off seq costs one query, not a loop.
   */
  async *pages(
    afterSeq: number,
    toSeq = Number.MAX_SAFE_INTEGER,
    pageSize = 10_000,
  ): AsyncGenerator<ChainRow[]> {
    const max = await this.db(RECORDS).max({ seq: 'seq' }).first();
    const last = Math.min(toSeq, Number(max?.seq ?? 0));
    let after = afterSeq;
    while (after < last) {
      const upTo = Math.min(after + pageSize, last);
      const page = await this.page(after, upTo);
      if (page.length) {
        yield page;
        after = upTo;
      } else {
        const next = await this.db(RECORDS)
          .where('seq', '>', upTo)
          .min({ seq: 'seq' })
          .first();
        if (next?.seq === null || next?.seq === undefined) return;
        after = Number(next.seq) - 1;
      }
    }
  }

  private async page(after: number, toSeq: number): Promise<ChainRow[]> {
    let rows: ChainRow[];
    if (this.dialect === 'sqlite') {
      const conn = await this.db.client.acquireConnection();
      try {
        rows = conn.prepare(this.sql).raw(true).all(after, toSeq);
      } finally {
        await this.db.client.releaseConnection(conn);
      }
      for (const row of rows) row[4] = Boolean(row[4]);
    } else if (this.dialect === 'pg') {
      const conn = await this.db.client.acquireConnection();
      try {
        const result = await conn.query({
          text: this.sql,
          values: [after, toSeq],
          rowMode: 'array',
        });
        rows = result.rows;
      } finally {
        await this.db.client.releaseConnection(conn);
      }
      for (const row of rows) row[0] = Number(row[0]);
    } else {
      const full: AuditRow[] = await this.db(RECORDS)
        .where('seq', '>', after)
        .andWhere('seq', '<=', toSeq)
        .orderBy('seq', 'asc');
      return full.map(row => [
        Number(row.seq),
        row.canonical,
        row.prev_hash,
        row.hash,
        canonicalOfRow(row) === row.canonical,
      ]);
    }
    for (const row of rows) {
      if (!row[4]) row[4] = await this.fieldsMatch(row[0]);
    }
    return rows;
  }

  /** The exact check, in JavaScript, for a record the database flagged. */
  private async fieldsMatch(seq: number): Promise<boolean> {
    const row: AuditRow | undefined = await this.db(RECORDS)
      .where({ seq })
      .first();
    return row !== undefined && canonicalOfRow(row) === row.canonical;
  }
}
