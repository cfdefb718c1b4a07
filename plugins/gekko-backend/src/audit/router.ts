import {
  appendAuditEventSchema,
  auditQuerySchema,
  gekkoAuditAppendPermission,
  gekkoAuditReadPermission,
  parseInput,
} from '@gekko/plugin-gekko-common';
import express from 'express';
import Router from 'express-promise-router';
import { AccessGuard } from '../service/AccessGuard';
import { normalizeEntityRef } from '../service/entityRefs';
import type { AuditCheckpointer } from './AuditCheckpoints';
import { AuditTrail } from './AuditTrail';

/** Routes of the audit trail: query, verify, export, and events from other systems. */
export function createAuditRouter(options: {
  audit: AuditTrail;
  guard: AccessGuard;
  checkpointer?: AuditCheckpointer;
}): express.Router {
  const { audit, guard, checkpointer } = options;
  const router = Router();
  const readAccess = { what: 'read the audit trail' };

  router.get('/audit/records', async (req, res) => {
    await guard.authorize(req, gekkoAuditReadPermission, {
      ...readAccess,
      action: 'audit.read',
    });
    const query = parseInput(auditQuerySchema, req.query, 'audit query');
    const target = query.entityRef
      ? normalizeEntityRef(query.entityRef, 'entityRef')
      : undefined;
    res.json(await audit.query({ ...query, target }));
  });

  router.get('/audit/verify', async (req, res) => {
    await guard.authorize(req, gekkoAuditReadPermission, {
      ...readAccess,
      action: 'audit.verify',
    });
    parseInput(auditQuerySchema.pick({}), req.query, 'verify query');
    res.json(await audit.verify());
  });

  router.get('/audit/export', async (req, res) => {
    const caller = await guard.authorize(req, gekkoAuditReadPermission, {
      ...readAccess,
      action: 'audit.export',
    });
    parseInput(auditQuerySchema.pick({}), req.query, 'export query');
    const exportRecord = await audit.append(
      {
        actor: caller.actor,
        action: 'audit.export',
        outcome: 'success',
        requestId: caller.requestId,
      },
      caller,
    );
    // The export ends at a checkpoint signed for it (its own audit record included), so that it
    // verifies offline with the public key alone.
    const signed = await checkpointer?.checkpoint().catch(() => undefined);
    const upTo =
      signed && signed.seq >= exportRecord.seq ? signed.seq : exportRecord.seq;
    res.status(200).type('application/x-ndjson');
    res.setHeader(
      'content-disposition',
      `attachment; filename="gekko-audit-${new Date()
        .toISOString()
        .slice(0, 10)}.jsonl"`,
    );
    for await (const line of audit.exportLines(upTo)) {
      if (!res.write(`${line}\n`)) {
        await new Promise(resolve => res.once('drain', resolve));
      }
    }
    res.end();
  });

  router.post('/audit/events', async (req, res) => {
    const caller = await guard.authorize(req, gekkoAuditAppendPermission, {
      what: 'append events to the audit trail',
      action: 'audit.append',
    });
    const event = parseInput(appendAuditEventSchema, req.body, 'audit event');
    const record = await audit.append(
      {
        actor: caller.actor,
        action: event.action,
        target: normalizeEntityRef(event.target, 'target'),
        outcome: event.outcome,
        requestId: caller.requestId,
        details: event.details,
      },
      caller,
    );
    res.status(201).json(record);
  });

  return router;
}
