import { mockCredentials, TestDatabases } from '@backstage/backend-test-utils';
import fs from 'node:fs';
import { twoModelVersions } from '../bench/twoModelVersions';
import { until } from '../__testUtils__/until';
import { postgresAnswers } from './__testUtils__/postgresAnswers';
import { historyProblems } from './__testUtils__/runKillLoop';
import {
  DeploymentBackend,
  spawnDeploymentBackend,
} from './__testUtils__/spawnDeploymentBackend';

jest.setTimeout(180_000);

const databases = TestDatabases.create({ ids: ['POSTGRES_15'] });
const withPostgres = postgresAnswers('the two-replica takeover test');

const user = mockCredentials.user.header('user:default/ava');
const LEASE_MS = 3_000;

function call(backend: DeploymentBackend, path: string, body?: unknown) {
  return fetch(`${backend.url}/api/gekko${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: user, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Predictions spread over the replicas that answer, as a load balancer would send them. */
function trafficTo(replicas: DeploymentBackend[]) {
  let running = true;
  const row = Array.from({ length: 8 }, (_, i) => i / 8);
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        const res = await call(
          replicas[i % replicas.length],
          '/inference/models/mlp/predict',
          { inputs: [row] },
        );
        await res.arrayBuffer();
      } catch {
        // that replica is gone; the next one answers
      }
      await new Promise(r => setTimeout(r, 3));
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

(withPostgres ? describe : describe.skip)(
  'two replicas on one PostgreSQL database',
  () => {
    it('finish a canary whose replica was SIGKILLed: the other takes it over once the lease expires', async () => {
      const db = await databases.init('POSTGRES_15');
      const modelsDir = twoModelVersions();
      const options = {
        database: {
          client: 'pg' as const,
          connection: db.client.config.connection as Record<string, unknown>,
        },
        modelsDir,
        leaseMs: LEASE_MS,
      };
      const replicas = [
        await spawnDeploymentBackend(options),
        await spawnDeploymentBackend(options),
      ];
      replicas[0].relayEventsTo(replicas[1]);
      replicas[1].relayEventsTo(replicas[0]);
      const stopTraffic = trafficTo(replicas);
      try {
        const created = await call(replicas[0], '/deployments', {
          entityRef: 'component:default/inference-gateway',
          target: 'gpu-pool',
          strategy: 'canary',
          spec: { model: 'mlp', version: '2' },
          steps: [10, 25, 50, 100],
          pauseMs: 1_000,
          analysis: { maxP99Ms: 5_000, minSamples: 5, timeoutMs: 60_000 },
        });
        expect(created.status).toBe(202);
        const { id } = await created.json();

        // Mid-canary, the replica that holds the lease (its pid is in the owner's name) dies.
        const driving = await until(
          async () => {
            const row = await db('gekko_deployments').where({ id }).first();
            return row.state === 'verifying' && row.step === 1 && row;
          },
          'step 2 applied',
          60_000,
        );
        const holder = replicas.find(r =>
          driving.lease_owner.includes(`/${r.pid}/`),
        )!;
        const survivor = replicas.find(r => r !== holder)!;
        expect(holder).toBeDefined();
        const killedAt = Date.now();
        await holder.kill();
        const dead = await db('gekko_deployments').where({ id }).first();
        const expiresAt = Number(dead.lease_expires_at);

        const taken = await until(
          async () => {
            const row = await db('gekko_deployments').where({ id }).first();
            return row.lease_owner?.includes(`/${survivor.pid}/`)
              ? Date.now()
              : undefined;
          },
          'the other replica to take the lease',
          30_000,
        );
        // eslint-disable-next-line no-console
        console.log(
          `replica ${replicas.indexOf(holder) + 1} of 2 killed ${
            expiresAt - killedAt
          } ms before its lease expired; the other took the deployment over ${
            taken - expiresAt
          } ms after it expired (${taken - killedAt} ms after the kill)`,
        );
        // Not before the lease expired, and within one sweep (half a lease) of it, give or take
        // a busy machine.
        expect(taken).toBeGreaterThanOrEqual(expiresAt);
        expect(taken - expiresAt).toBeLessThan(LEASE_MS / 2 + 3_000);

        const done = await until(
          async () => {
            const row = await db('gekko_deployments').where({ id }).first();
            return ['succeeded', 'rolled_back', 'failed'].includes(row.state)
              ? row
              : undefined;
          },
          'the canary to end',
          90_000,
        );
        expect({ state: done.state, reason: done.reason }).toEqual({
          state: 'succeeded',
          reason: null,
        });
        const events = await db('gekko_deployment_events')
          .where({ deployment_id: id })
          .orderBy('id');
        expect(
          events.filter(e => e.kind === 'step').map(e => Number(e.step)),
        ).toEqual([0, 1, 2, 3]);
        expect((await historyProblems(db, done, '2')).problems).toEqual([]);
        const weights = await db('gekko_model_versions')
          .where({ name: 'mlp' })
          .orderBy('version');
        expect(weights.map(v => [v.version, v.state, v.weight])).toEqual([
          ['1', 'deployed', 0],
          ['2', 'deployed', 100],
        ]);
        const verify = await call(survivor, '/audit/verify');
        expect(await verify.json()).toMatchObject({ valid: true });
      } finally {
        await stopTraffic();
        for (const replica of replicas) await replica.stop();
        fs.rmSync(modelsDir, { recursive: true, force: true });
      }
    });
  },
);
