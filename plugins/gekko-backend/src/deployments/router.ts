import {
  createDeploymentSchema,
  gekkoDeploymentCreatePermission,
  gekkoDeploymentRollbackPermission,
  parseInput,
} from '@gekko/plugin-gekko-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { AccessGuard } from '../service/AccessGuard';
import { normalizeEntityRef } from '../service/entityRefs';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { checkDeploymentEntity } from './checkDeploymentEntity';
import { DeploymentOrchestrator } from './DeploymentOrchestrator';
import { DeploymentTargets } from './DeploymentTargets';

const idParams = z.object({ id: z.string().uuid('must be a deployment id') });
const listQuery = z
  .object({
    entityRef: z.string().max(255).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** Routes of deployments: the registered targets, and deployments to start, follow and roll back. */
export function createDeploymentsRouter(options: {
  guard: AccessGuard;
  targets: DeploymentTargets;
  orchestrator: DeploymentOrchestrator;
  catalog: CatalogService;
}): express.Router {
  const { guard, targets, orchestrator, catalog } = options;
  const router = Router();

  router.get('/deployments/targets', async (req, res) => {
    await guard.caller(req);
    res.json({ items: targets.list() });
  });

  router.get('/deployments', async (req, res) => {
    await guard.caller(req);
    const query = parseInput(listQuery, req.query, 'deployment query');
    const entityRef = query.entityRef
      ? normalizeEntityRef(query.entityRef, 'entityRef')
      : undefined;
    res.json({ items: await orchestrator.list(entityRef, query.limit) });
  });

  router.get('/deployments/:id', async (req, res) => {
    await guard.caller(req);
    const { id } = parseInput(idParams, req.params, 'deployment');
    res.json(await orchestrator.get(id));
  });

  router.post('/deployments', async (req, res) => {
    const given =
      typeof req.body?.entityRef === 'string' ? req.body.entityRef : '';
    let target: string | null = null;
    try {
      target = normalizeEntityRef(given, 'entityRef');
    } catch {
      target = null; // the body's check below names the field
    }
    const caller = await guard.authorize(req, gekkoDeploymentCreatePermission, {
      action: 'deployment.create',
      target,
      what: 'start deployments',
    });
    const input = parseInput(createDeploymentSchema, req.body, 'deployment');
    input.entityRef = normalizeEntityRef(input.entityRef, 'entityRef');
    targets.get(input.target); // an unknown target is named before the entity is looked up
    await checkDeploymentEntity(
      catalog,
      caller.credentials,
      input.entityRef,
      input.target,
    );
    if (input.dryRun) {
      res.json(await orchestrator.dryRun(input));
      return;
    }
    res.status(202).json(await orchestrator.create(caller, input));
  });

  router.post('/deployments/:id/rollback', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'deployment');
    const deployment = await orchestrator.get(id);
    const caller = await guard.authorize(
      req,
      gekkoDeploymentRollbackPermission,
      {
        action: 'deployment.rollback',
        target: deployment.entityRef,
        what: 'roll deployments back',
      },
    );
    res.status(202).json(await orchestrator.rollback(caller, id));
  });

  return router;
}
