import {
  createGpuPoolSchema,
  gekkoPoolManagePermission,
  gpuPoolEntityRef,
  parseInput,
  resourceName,
  updateGpuPoolSchema,
} from '@gekko/plugin-gekko-common';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { AccessGuard } from '../service/AccessGuard';
import { GpuPoolService } from './GpuPoolService';

const poolName = z.object({ name: resourceName('pool') });

/** Routes of the GPU pools: list, get, create, update, delete. */
export function createPoolsRouter(options: {
  pools: GpuPoolService;
  guard: AccessGuard;
}): express.Router {
  const { pools, guard } = options;
  const router = Router();

  router.get('/pools', async (req, res) => {
    await guard.caller(req);
    res.json({ items: await pools.listPools() });
  });

  router.get('/pools/:name', async (req, res) => {
    await guard.caller(req);
    const { name } = parseInput(poolName, req.params, 'pool name');
    res.json(await pools.getPool(name));
  });

  router.post('/pools', async (req, res) => {
    const name = typeof req.body?.name === 'string' ? req.body.name : null;
    const caller = await guard.authorize(req, gekkoPoolManagePermission, {
      action: 'pool.create',
      target:
        name && poolName.safeParse({ name }).success
          ? gpuPoolEntityRef(name)
          : null,
      what: 'create GPU pools',
    });
    const spec = parseInput(createGpuPoolSchema, req.body, 'GPU pool');
    res.status(201).json(await pools.createPool(caller, spec));
  });

  router.patch('/pools/:name', async (req, res) => {
    const { name } = parseInput(poolName, req.params, 'pool name');
    const caller = await guard.authorize(req, gekkoPoolManagePermission, {
      action: 'pool.update',
      target: gpuPoolEntityRef(name),
      what: 'change GPU pools',
    });
    const patch = parseInput(updateGpuPoolSchema, req.body, 'GPU pool change');
    res.json(await pools.updatePool(caller, name, patch));
  });

  router.delete('/pools/:name', async (req, res) => {
    const { name } = parseInput(poolName, req.params, 'pool name');
    const caller = await guard.authorize(req, gekkoPoolManagePermission, {
      action: 'pool.delete',
      target: gpuPoolEntityRef(name),
      what: 'delete GPU pools',
    });
    await pools.deletePool(caller, name);
    res.status(204).end();
  });

  return router;
}
