import type {
  Deployment,
  DeploymentEvent,
  DeploymentState,
} from '@gekko/plugin-gekko-common';
import { FINAL_DEPLOYMENT_STATES } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';

const DEPLOYMENTS = 'gekko_deployments';
const EVENTS = 'gekko_deployment_events';

interface Row {
  id: string;
  entity_ref: string;
  target: string;
  strategy: string;
  spec: string;
  options: string;
  plan: string;
  checks: string | null;
  snapshot: string | null;
  state: string;
  step: number;
  reason: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  lease_owner: string | null;
  lease_expires_at: number | string | null;
}

interface EventRow {
  id: number;
  deployment_id: string;
  time: string;
  kind: string;
  state: string;
  step: number | null;
  message: string;
  evidence: string | null;
}

function fromRow(row: Row): Deployment {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    target: row.target,
    strategy: row.strategy as Deployment['strategy'],
    spec: JSON.parse(row.spec),
    options: JSON.parse(row.options),
    plan: JSON.parse(row.plan),
    ...(row.checks ? { checks: JSON.parse(row.checks) } : {}),
    ...(row.snapshot ? { snapshot: JSON.parse(row.snapshot) } : {}),
    state: row.state as DeploymentState,
    step: row.step,
    ...(row.reason ? { reason: row.reason } : {}),
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.finished_at ? { finishedAt: row.finished_at } : {}),
  };
}

function fromEventRow(row: EventRow): DeploymentEvent {
  return {
    id: Number(row.id),
    time: row.time,
    kind: row.kind as DeploymentEvent['kind'],
    state: row.state as DeploymentState,
    step: row.step === null ? null : Number(row.step),
    message: row.message,
    ...(row.evidence ? { evidence: JSON.parse(row.evidence) } : {}),
  };
}

/** A change of a deployment's row, written with the event that says why. */
export interface DeploymentChange {
  state?: DeploymentState;
  step?: number;
  checks?: unknown;
  snapshot?: unknown;
  reason?: string | null;
}

/** The unique index that lets one deployment per entity and target be in flight. */
const IN_FLIGHT_INDEX = 'gekko_deployments_in_flight_idx';

/** Whether a write broke {@link IN_FLIGHT_INDEX} (SQLite names the columns, PostgreSQL the index). */
export function isInFlightViolation(error: unknown): boolean {
  const message = String((error as Error)?.message ?? error);
  return (
    message.includes(IN_FLIGHT_INDEX) ||
    /UNIQUE constraint failed: gekko_deployments\.entity_ref, gekko_deployments\.target/.test(
      message,
    )
  );
}

/** Deployments and their events in the gekko database. */
export class DeploymentStore {
  constructor(private readonly db: Knex) {}

  /**
   * Inserts a deployment unless another of the same entity and target is in flight, which it answers
   * instead. The unique index decides, so of two inserts at the same moment exactly one passes; the
   * insert runs in a savepoint, so the transaction stays usable to read the one that won.
   */
  async insertAlone(
    trx: Knex.Transaction,
    deployment: Deployment,
  ): Promise<Deployment | undefined> {
    try {
      await trx.transaction(savepoint => this.insert(savepoint, deployment));
      return undefined;
    } catch (error) {
      if (!isInFlightViolation(error)) throw error;
      return this.inFlight(deployment.entityRef, deployment.target, trx);
    }
  }

  /** The deployment of an entity to a target that is in flight, if any. */
  async inFlight(
    entityRef: string,
    target: string,
    trx: Knex = this.db,
  ): Promise<Deployment | undefined> {
    const row = await trx<Row>(DEPLOYMENTS)
      .where({ entity_ref: entityRef, target })
      .whereNotIn('state', FINAL_DEPLOYMENT_STATES as DeploymentState[])
      .first();
    return row && fromRow(row);
  }

  async insert(trx: Knex, deployment: Deployment): Promise<void> {
    await trx<Row>(DEPLOYMENTS).insert({
      id: deployment.id,
      entity_ref: deployment.entityRef,
      target: deployment.target,
      strategy: deployment.strategy,
      spec: JSON.stringify(deployment.spec),
      options: JSON.stringify(deployment.options),
      plan: JSON.stringify(deployment.plan),
      checks: null,
      snapshot: null,
      state: deployment.state,
      step: deployment.step,
      reason: null,
      created_by: deployment.createdBy,
      created_at: deployment.createdAt,
      updated_at: deployment.updatedAt,
      finished_at: null,
      lease_owner: null,
      lease_expires_at: null,
    });
  }

  async get(id: string, trx: Knex = this.db): Promise<Deployment | undefined> {
    const row = await trx<Row>(DEPLOYMENTS).where({ id }).first();
    return row && fromRow(row);
  }

  /** Deployments, newest first, of an entity or of all. */
  async list(filter: {
    entityRef?: string;
    limit: number;
  }): Promise<Deployment[]> {
    let q = this.db<Row>(DEPLOYMENTS);
    if (filter.entityRef) q = q.where('entity_ref', filter.entityRef);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit);
    return rows.map(fromRow);
  }

  /** Deployments in flight (not in a final state), oldest first. */
  async unfinished(): Promise<Deployment[]> {
    const rows = await this.db<Row>(DEPLOYMENTS)
      .whereNotIn('state', FINAL_DEPLOYMENT_STATES as DeploymentState[])
      .orderBy('created_at', 'asc');
    return rows.map(fromRow);
  }

  async events(id: string): Promise<DeploymentEvent[]> {
    const rows = await this.db<EventRow>(EVENTS)
      .where({ deployment_id: id })
      .orderBy('id', 'asc');
    return rows.map(fromEventRow);
  }

  /** Applies a change to the row and appends the event that records it. */
  async update(
    trx: Knex,
    id: string,
    change: DeploymentChange,
    event: Omit<DeploymentEvent, 'id' | 'time'>,
  ): Promise<void> {
    const now = new Date().toISOString();
    const patch: Partial<Row> = { updated_at: now };
    if (change.state) {
      patch.state = change.state;
      if (FINAL_DEPLOYMENT_STATES.includes(change.state))
        patch.finished_at = now;
      else patch.finished_at = null;
    }
    if (change.step !== undefined) patch.step = change.step;
    if (change.checks !== undefined)
      patch.checks = JSON.stringify(change.checks);
    if (change.snapshot !== undefined) {
      patch.snapshot = JSON.stringify(change.snapshot);
    }
    if (change.reason !== undefined) patch.reason = change.reason;
    await trx<Row>(DEPLOYMENTS).where({ id }).update(patch);
    await trx<EventRow>(EVENTS).insert({
      deployment_id: id,
      time: now,
      kind: event.kind,
      state: event.state,
      step: event.step,
      message: event.message,
      evidence:
        event.evidence === undefined ? null : JSON.stringify(event.evidence),
    });
  }

  /**
   * Takes or renews the lease of a deployment for `owner` until `untilMs`: true when the row was free,
   * expired, or already this owner's. Exactly one replica drives a deployment. Within a transition's
   * transaction it is the fence: a replica whose lease another took writes nothing more.
   */
  async lease(
    id: string,
    owner: string,
    nowMs: number,
    untilMs: number,
    trx: Knex = this.db,
  ) {
    const updated = await trx<Row>(DEPLOYMENTS)
      .where({ id })
      .andWhere(q =>
        q
          .whereNull('lease_owner')
          .orWhere('lease_owner', owner)
          .orWhere('lease_expires_at', '<', nowMs),
      )
      .update({ lease_owner: owner, lease_expires_at: untilMs });
    return updated === 1;
  }

  /** Gives a lease back (after a final state, or on shutdown). */
  async release(id: string, owner: string): Promise<void> {
    await this.db<Row>(DEPLOYMENTS)
      .where({ id, lease_owner: owner })
      .update({ lease_owner: null, lease_expires_at: null });
  }
}
