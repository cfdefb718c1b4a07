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
    // The permission is on the entity, so its ref is read first: a bad one is a 400 naming it.
    const entityRef = normalizeEntityRef(
      typeof req.body?.entityRef === 'string' ? req.body.entityRef : '',
      'entityRef',
    );
    const caller = await guard.authorize(req, gekkoDeploymentCreatePermission, {
      action: 'deployment.create',
      resourceRef: entityRef,
      what: 'start deployments',
    });
    const input = parseInput(createDeploymentSchema, req.body, 'deployment');
    input.entityRef = entityRef;
    targets.get(input.target); // an unknown target is named before the entity is looked up
    await checkDeploymentEntity(
      catalog,
      caller.credentials,
      input.entityRef,
      input.target,
    );
    if (input.dryRun) {
      res.json(await orchestrator.dryRun(input, caller.actor));
      return;
    }
    res.status(202).json(await orchestrator.create(caller, input));
  });

  router.post('/deployments/:id/rollback', async (req, res) => {
    const { id } = parseInput(idParams, req.params, 'deployment');
    // Read once: its entity is what the permission is checked on, and the orchestrator takes it as read.
    const deployment = await orchestrator.get(id);
    const caller = await guard.authorize(
      req,
      gekkoDeploymentRollbackPermission,
      {
        action: 'deployment.rollback',
        resourceRef: deployment.entityRef,
        what: 'roll deployments back',
      },
    );
    res.status(202).json(await orchestrator.rollback(caller, deployment));
  });

  return router;
}
