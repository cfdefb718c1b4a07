import { TradingAlert } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';

type StoredAlert = TradingAlert;

const TABLE = 'gekko_trading_alerts';

/** Every alert that fired, with its resolution: what the Trading health tab lists as recent. */
export class AlertStore {
  constructor(private readonly db: Knex) {}

  /** Writes an alert that fired, or its resolution. */
  async save(alert: StoredAlert, trx: Knex = this.db): Promise<void> {
    const row = {
      id: alert.id,
      entity_ref: alert.entityRef,
      rule: alert.rule,
      labels: JSON.stringify(alert.labels),
      severity: alert.severity,
      state: alert.state,
      summary: alert.summary,
      active_at: alert.activeAt,
      fired_at: alert.firedAt ?? null,
      resolved_at: alert.resolvedAt ?? null,
    };
    await trx(TABLE).insert(row).onConflict('id').merge();
  }

  /** Alerts firing now, as the last run left them. */
  async firing(): Promise<StoredAlert[]> {
    return (await this.db(TABLE).where({ state: 'firing' })).map(fromRow);
  }

  /** The newest alerts that fired (any state), of one entity or all. */
  async recent(entityRef?: string, limit = 50): Promise<StoredAlert[]> {
    const query = this.db(TABLE).orderBy('fired_at', 'desc').limit(limit);
    if (entityRef) query.where({ entity_ref: entityRef });
    return (await query).map(fromRow);
  }
}

function fromRow(row: any): StoredAlert {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    rule: row.rule,
    labels: JSON.parse(row.labels),
    severity: row.severity,
    state: row.state,
    summary: row.summary,
    activeAt: row.active_at,
    firedAt: row.fired_at ?? undefined,
    resolvedAt: row.resolved_at ?? undefined,
  };
}
