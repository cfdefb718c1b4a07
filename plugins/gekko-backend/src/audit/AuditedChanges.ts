import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { Knex } from 'knex';
import type { AuditContext } from './AuditContext';
import { AuditTrail } from './AuditTrail';

/** What an audited change names: its action and the catalog entity it concerns. */
export interface AuditedAction {
  /** The audit action, e.g. `pool.update` or `model.deploy`. */
  action: string;
  /** The entity ref whose Audit tab shows the record; null when none fits. */
  target: string | null;
  /** Details recorded with a failure too, besides the error (e.g. which model version). */
  subject?: Record<string, unknown>;
}

/** A change's result, and the details its audit record keeps (what was before, what is after). */
export interface ChangeOutcome<T> {
  result: T;
  details: Record<string, unknown>;
}

/** Errors the caller can fix, recorded with outcome `failure`; any other error is a bug, and logged. */
function isCallerError(error: unknown): error is Error {
  return (
    error instanceof ConflictError ||
    error instanceof NotFoundError ||
    error instanceof InputError
  );
}

/**
 * "A change and its audit record in one transaction": every stored change of the gekko backend
 * (pools, model versions, deployments) goes through here, so that the change and its record commit
 * together or not at all, and a change refused for a reason the caller can fix (400, 404, 409) still
 * leaves a record with outcome `failure`.
 */
export class AuditedChanges {
  constructor(private readonly db: Knex, private readonly trail: AuditTrail) {}

  /**
   * Runs `change` in a transaction and appends its audit record (outcome `success`, with the details
   * the change returns and `what.subject`) in the same transaction. The committed record then goes
   * to Backstage's auditor service.
   */
  async run<T>(
    context: AuditContext,
    what: AuditedAction,
    change: (trx: Knex.Transaction) => Promise<ChangeOutcome<T>>,
  ): Promise<T> {
    const base = {
      actor: context.actor,
      action: what.action,
      target: what.target,
      requestId: context.requestId,
    };
    let committed;
    try {
      committed = await this.db.transaction(async trx => {
        const { result, details } = await change(trx);
        const record = await this.trail.appendWithin(trx, {
          ...base,
          outcome: 'success',
          details: { ...what.subject, ...details },
        });
        return { result, record };
      });
    } catch (error) {
      if (isCallerError(error)) {
        await this.trail.append(
          {
            ...base,
            outcome: 'failure',
            details: { ...what.subject, error: error.message },
          },
          context,
        );
      }
      throw error;
    }
    this.trail.forward(committed.record, context);
    return committed.result;
  }
}
