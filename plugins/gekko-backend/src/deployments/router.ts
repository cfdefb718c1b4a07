import express from 'express';
import Router from 'express-promise-router';
import { AccessGuard } from '../service/AccessGuard';
import { DeploymentTargets } from './DeploymentTargets';

/** Routes of deployments: for now, the targets a deployment can go to. */
export function createDeploymentsRouter(options: {
  guard: AccessGuard;
  targets: DeploymentTargets;
}): express.Router {
  const { guard, targets } = options;
  const router = Router();

  router.get('/deployments/targets', async (req, res) => {
    await guard.caller(req);
    res.json({ items: targets.list() });
  });

  return router;
}
