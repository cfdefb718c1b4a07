import { mockCredentials } from '@backstage/backend-test-utils';
import type { AuditVerifyResult } from '@gekko/plugin-gekko-common';
import { Knex } from 'knex';
import { performance } from 'node:perf_hooks';
import {
  DeploymentBackend,
  DeploymentBackendOptions,
  spawnDeploymentBackend,
} from './spawnDeploymentBackend';

/*
 * The kill loop of the kill test and the kill benchmark: a gekko backend in a child process drives
 * deployments under live traffic, and is SIGKILLed at chosen points of each one, then started again
 * on the same database, until every deployment has ended. Then it checks what a crash must not do:
 * leave a deployment stuck, apply a step twice in a way that changes the outcome, leave traffic
 * weights other than the final state says, or break the audit chain.
 */

/** What a deployment of a scenario is meant to do. */
export type ScenarioKind =
  | 'canary' // 4 steps under traffic, succeeds
  | 'rollback' // succeeds, then is rolled back on request
  | 'failing' // its first analysis fails (p99 above a threshold no model meets): rolls back
  | 'invalid'; // names a version that is not registered: fails validation, nothing changes

/** A point to kill the backend at: a log line it freezes at, or a state of the row seen from here. */
export interface KillPoint {
  name: string;
  /** Regular expression of the log line the backend stops at (it is killed there). */
  freezeAt?: string;
  /** Or: killed as soon as the deployment's row, seen `seenMs` in this state, matches. */
  when?: (row: DeploymentRow, seenMs: number) => boolean;
}

interface Scenario {
  kind: ScenarioKind;
  points: KillPoint[];
}

/** The columns of `gekko_deployments` the checks read. */
export interface DeploymentRow {
  id: string;
  state: string;
  step: number;
  lease_owner: string | null;
  snapshot: string | null;
  plan: string;
  reason: string | null;
  updated_at: string;
}

/** Where one kill landed: the point, and the deployment's row as the next start found it. */
export interface KillRecord {
  point: string;
  kind: ScenarioKind;
  deployment: string;
  state: string;
  /** 1-based step of the row. */
  step: number;
}

/** What a kill loop saw. */
export interface KillLoopReport {
  kills: KillRecord[];
  /** Points whose moment never came (the deployment took another path). */
  missed: string[];
  deployments: Array<{
    id: string;
    kind: ScenarioKind;
    state: string;
    reason: string | null;
  }>;
  /** Deployments not in a final state when the loop gave up on them. */
  stuck: string[];
  /** Transitions written twice, or step traffic that differs from the plan's. */
  doubled: string[];
  /** Deployments whose traffic weights, once ended, are not what their final state says. */
  wrongWeights: string[];
  /** Steps applied again after a kill between the traffic change and its transition (idempotent). */
  reapplied: number;
  audit: AuditVerifyResult;
  /** Each backend's time from spawn to serving. */
  startMs: number[];
  /** After each kill with a deployment in flight: from the next spawn to the deployment taken up. */
  resumeMs: number[];
}

const FINAL = ['succeeded', 'rolled_back', 'failed'];
const user = mockCredentials.user.header('user:default/ava');
const entityRef = 'component:default/inference-gateway';
const STEPS = [10, 25, 50, 100];
/** A deployment whose row has not changed for this long (kills and restarts included) is stuck. */
const STUCK_MS = 90_000;

const at = (name: string, freezeAt: string): KillPoint => ({ name, freezeAt });
const inPause = (step: number): KillPoint => ({
  name: `verifying step ${step + 1}, 100 ms into its pause`,
  when: (row, seenMs) =>
    row.state === 'verifying' && row.step === step && seenMs >= 100,
});

/** One round: every phase of a canary, a rollback on request, a failed analysis, a refused one. */
const SCENARIOS: Scenario[] = [
  {
    kind: 'canary',
    points: [
      at('validating, before the checks', ': Validating$'),
      at('preparing, before the snapshot', ': Validated: '),
      at(
        'activating step 1, before the step',
        'Snapshot of what the deployment replaces stored',
      ),
      at(
        'activating step 1, new version loaded, traffic not shifted',
        ': \\S+ loaded on \\d+ worker',
      ),
      // The split is logged in version order: the new version's share is anywhere in it.
      at(
        'activating step 1, traffic shifted, transition not written',
        'traffic: .*\\b10 %',
      ),
      at('verifying step 1, before its pause', 'Applied step 1 of 4'),
      at('activating step 2, before the step', 'Analysis of step 1 passed'),
      at(
        'activating step 2, traffic shifted, transition not written',
        'traffic: .*\\b25 %',
      ),
      inPause(1),
      at(
        'activating step 3, traffic shifted, transition not written',
        'traffic: .*\\b50 %',
      ),
      at('verifying step 3, before its pause', 'Applied step 3 of 4'),
      at('activating step 4, before the step', 'Analysis of step 3 passed'),
      at(
        'activating step 4, traffic shifted, transition not written',
        'traffic: .*\\b100 %',
      ),
      at('verifying step 4, before its pause', 'Applied step 4 of 4'),
      at('succeeded, lease not given back', 'deployment succeeded'),
    ],
  },
  {
    kind: 'rollback',
    points: [
      { name: 'just created (pending or validating)', when: () => true },
      inPause(2),
      at(
        'rolling back on request, before the restore',
        'Rollback requested by',
      ),
      at(
        'rolling back, snapshot restored, transition not written',
        'restored: ',
      ),
    ],
  },
  {
    kind: 'failing',
    points: [
      at(
        'rolling back after a failed analysis, before the restore',
        'Analysis of step 1 failed',
      ),
      at('rolled back, lease not given back', 'Rolled back: the snapshot'),
    ],
  },
  {
    kind: 'invalid',
    points: [
      at('failed validation, lease not given back', 'Validation failed'),
    ],
  },
];

/** Kills in one round of the scenarios. */
export const KILLS_PER_ROUND = SCENARIOS.reduce(
  (n, s) => n + s.points.length,
  0,
);

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function bodyOf(kind: ScenarioKind, version: string) {
  return {
    entityRef,
    target: 'gpu-pool',
    strategy: 'canary',
    spec: { model: 'mlp', version: kind === 'invalid' ? '9' : version },
    steps: STEPS,
    pauseMs: 300,
    analysis: {
      maxP99Ms: kind === 'failing' ? 0.0001 : 5_000,
      minSamples: 5,
      timeoutMs: 60_000,
    },
  };
}

async function versions(db: Knex) {
  const rows = await db('gekko_model_versions')
    .where({ name: 'mlp' })
    .orderBy('version');
  return Object.fromEntries(
    rows.map(r => [r.version, { state: r.state, weight: Number(r.weight) }]),
  ) as Record<string, { state: string; weight: number }>;
}

/** The weights a deployment that ended must leave: `null` when they are right. */
function weightProblem(
  row: DeploymentRow,
  version: string,
  before: Record<string, { state: string; weight: number }>,
  after: Record<string, { state: string; weight: number }>,
): string | null {
  let wanted: Record<string, { state?: string; weight: number }>;
  if (row.state === 'succeeded') {
    wanted = Object.fromEntries(
      Object.keys(after).map(v => [
        v,
        v === version ? { state: 'deployed', weight: 100 } : { weight: 0 },
      ]),
    );
  } else if (row.state === 'rolled_back' && row.snapshot) {
    const snapshot = JSON.parse(row.snapshot);
    wanted = Object.fromEntries(
      snapshot.state.versions.map((v: any) => [
        v.version,
        { state: v.state, weight: v.weight },
      ]),
    );
  } else {
    wanted = before;
  }
  for (const [v, want] of Object.entries(wanted)) {
    const got = after[v];
    if (
      !got ||
      got.weight !== want.weight ||
      (want.state && got.state !== want.state)
    ) {
      return `${row.id} (${row.state}): version ${v} is ${JSON.stringify(
        got,
      )}, should be ${JSON.stringify(want)}`;
    }
  }
  return null;
}

/** The state a transition may come from, per state it goes to. */
const FROM: Record<string, string[]> = {
  validating: ['pending'],
  preparing: ['validating'],
  activating: ['preparing', 'verifying'],
  verifying: ['activating'],
  succeeded: ['verifying'],
  rolling_back: ['activating', 'verifying', 'succeeded'],
  rolled_back: ['rolling_back'],
  failed: ['validating', 'rolling_back'],
};

/**
 * What a crash must not leave: a transition written twice (each event must follow from the one
 * before), a step recorded twice, or a step's traffic split other than the plan's. The same split
 * written again for one step (a kill between the traffic change and its transition) is the
 * documented, idempotent re-apply; it is counted.
 */
export async function historyProblems(
  db: Knex,
  row: DeploymentRow,
  version: string,
) {
  const problems: string[] = [];
  const events = await db('gekko_deployment_events')
    .where({ deployment_id: row.id })
    .orderBy('id');
  let state = 'pending';
  let step = 0;
  const steps = new Set<number>();
  for (const e of events) {
    const to = { state: e.state, step: Number(e.step) };
    const nextStep =
      state === 'verifying' && to.state === 'activating' ? step + 1 : step;
    const fine =
      FROM[to.state]?.includes(state) &&
      (['activating', 'verifying'].includes(to.state)
        ? to.step === (state === 'preparing' ? 0 : nextStep)
        : true);
    if (!fine) {
      problems.push(
        `${row.id}: ${state} step ${step + 1} → ${to.state} step ${
          to.step + 1
        } (event ${e.id})`,
      );
    }
    if (e.kind === 'step') {
      if (steps.has(to.step)) {
        problems.push(`${row.id}: step ${to.step + 1} recorded twice`);
      }
      steps.add(to.step);
    }
    state = to.state;
    step = to.step;
  }
  const records = await db('gekko_audit_records')
    .where({ request_id: `deployment:${row.id}`, action: 'model.traffic' })
    .orderBy('seq');
  const plan: Array<{ weight: number }> = JSON.parse(row.plan);
  const splits = new Map<number, number>();
  let shifted = 0;
  for (const record of records) {
    const { after } = JSON.parse(record.details);
    const weight = after[version];
    const rest = Object.entries(after)
      .filter(([v]) => v !== version)
      .reduce((n, [, w]) => n + Number(w), 0);
    // Only steps shift traffic (a restore deploys and undeploys): each split must be a step's, in
    // the plan's order.
    if (!plan.some(s => s.weight === weight) || weight + rest !== 100) {
      problems.push(
        `${row.id}: traffic ${JSON.stringify(after)} is no step of the plan`,
      );
    }
    if (weight < shifted) {
      problems.push(
        `${row.id}: traffic went back from ${shifted} to ${weight} %`,
      );
    }
    shifted = weight;
    // Keyed by the new version's share: a re-applied last step leaves out the versions at 0 %.
    splits.set(weight, (splits.get(weight) ?? 0) + 1);
  }
  const reapplied = [...splits.values()].reduce((n, c) => n + c - 1, 0);
  return { problems, reapplied };
}

/**
 * Runs the scenarios (repeated until `kills` kills; one round by default), killing a child backend
 * at each of their points and starting another on the same database, and reports what it saw.
 */
export async function runKillLoop(options: {
  /** The child backends' database (as they open it), models and lease. */
  backend: DeploymentBackendOptions;
  /** The same database, opened by the caller, to watch. */
  db: Knex;
  kills?: number;
  log?: (line: string) => void;
}): Promise<KillLoopReport> {
  const limit = options.kills ?? KILLS_PER_ROUND;
  // Once the loop is over (or failed), every watcher it started stops at its next read, instead of
  // polling a database the test then closes: a leftover poller would fail whichever test file the
  // jest worker runs next.
  let closed = false;
  const db = ((table: string) => {
    if (closed) throw new Error('the kill loop is over');
    return options.db(table);
  }) as Knex;
  const log = options.log ?? (() => {});
  const report: KillLoopReport = {
    kills: [],
    missed: [],
    deployments: [],
    stuck: [],
    doubled: [],
    wrongWeights: [],
    reapplied: 0,
    audit: {
      valid: false,
      checked: 0,
      headHash: null,
      firstBrokenSeq: null,
      reason: 'not verified',
    },
    startMs: [],
    resumeMs: [],
  };
  const versionOf = new Map<string, string>();

  let backend: DeploymentBackend;
  let generation = 0;
  const spawn = async (freezeAt?: string) => {
    backend = await spawnDeploymentBackend(options.backend, freezeAt);
    generation++;
    report.startMs.push(backend.startMs);
  };
  /** A request to whichever backend runs now; undefined when it died under it. */
  const call = async (method: string, path: string, body?: unknown) => {
    try {
      const res = await fetch(`${backend.url}/api/gekko${path}`, {
        method,
        headers: { authorization: user, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, body: await res.json() };
    } catch {
      return undefined;
    }
  };
  const nextBackend = async (seen: number) => {
    while (generation === seen) await sleep(20);
  };
  const rowOf = (id: string): Promise<DeploymentRow | undefined> =>
    db('gekko_deployments').where({ id }).first();

  // Live traffic to whichever backend runs, as a load balancer would send it.
  let flowing = true;
  const row8 = Array.from({ length: 8 }, (_, i) => i / 8);
  const traffic = async () => {
    while (flowing) {
      try {
        await fetch(`${backend.url}/api/gekko/inference/models/mlp/predict`, {
          method: 'POST',
          headers: { authorization: user, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [row8] }),
          signal: AbortSignal.timeout(2_000),
        }).then(r => r.arrayBuffer());
        await sleep(3);
      } catch {
        await sleep(50);
      }
    }
  };

  /** Creates, waits for the end (and for a rollback's end when asked), surviving every kill. */
  async function progress(
    kind: ScenarioKind,
    body: ReturnType<typeof bodyOf>,
    created: (id: string) => void,
  ): Promise<DeploymentRow> {
    const known = new Set(
      (await db('gekko_deployments').select('id')).map(r => r.id),
    );
    let id: string | undefined;
    while (!id) {
      const seen = generation;
      const res = await call('POST', '/deployments', body);
      if (res && res.status !== 202) {
        throw new Error(
          `create answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
      }
      id =
        res?.body.id ??
        (
          await db('gekko_deployments')
            .whereNotIn('id', [...known])
            .first()
        )?.id;
      if (!id) await nextBackend(seen);
    }
    created(id);
    const ended = async (notState?: string) => {
      let last = '';
      let end = 0;
      for (;;) {
        const row = (await rowOf(id!))!;
        if (FINAL.includes(row.state) && row.state !== notState) return row;
        const now = `${row.state} ${row.step} ${row.updated_at}`;
        if (now !== last) {
          last = now;
          end = Date.now() + STUCK_MS;
        } else if (Date.now() > end) {
          report.stuck.push(id!);
          throw new Error(`deployment ${id} is stuck ${row.state}`);
        }
        await sleep(25);
      }
    };
    const row = await ended();
    if (kind !== 'rollback' || row.state !== 'succeeded') return row;
    for (;;) {
      const seen = generation;
      const res = await call('POST', `/deployments/${id}/rollback`);
      if (res && res.status !== 202) {
        throw new Error(
          `rollback answered ${res.status}: ${JSON.stringify(res.body)}`,
        );
      }
      if (res || (await rowOf(id))!.state !== 'succeeded') break;
      await nextBackend(seen);
    }
    return ended('succeeded');
  }

  /** Resolves when `point` comes (the backend frozen there, or the row as it asks), or on `done`. */
  async function pointReached(
    point: KillPoint,
    id: () => string | undefined,
    done: Promise<unknown>,
  ): Promise<boolean> {
    let over = false;
    const watched = (async () => {
      if (!point.when) return new Promise<never>(() => {});
      let seen: { state: string; step: number; at: number } | undefined;
      while (!over) {
        const current = id();
        const row = current ? await rowOf(current) : undefined;
        if (row) {
          if (seen?.state !== row.state || seen.step !== row.step) {
            seen = { state: row.state, step: row.step, at: Date.now() };
          }
          if (point.when(row, Date.now() - seen.at)) return true;
        }
        await sleep(20);
      }
      return false;
    })();
    const reached = await Promise.race([
      backend.frozen.then(() => true),
      watched,
      done.then(
        () => false,
        () => false,
      ),
    ]);
    over = true;
    return reached;
  }

  /** After a kill: waits until the next backend takes the deployment up (a write of its own). */
  async function resumed(id: string, killed: DeploymentRow, events: number) {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const row = (await rowOf(id))!;
      const [{ n }] = await db('gekko_deployment_events')
        .where({ deployment_id: id })
        .count({ n: '*' });
      if (
        (row.lease_owner && row.lease_owner !== killed.lease_owner) ||
        row.state !== killed.state ||
        Number(n) !== events
      ) {
        return performance.now();
      }
      await sleep(10);
    }
    return undefined;
  }

  async function runScenario(scenario: Scenario) {
    const before = await versions(db);
    const version = Object.entries(before).sort(
      (a, b) => a[1].weight - b[1].weight,
    )[0][0];
    const points = scenario.points.slice(0, limit - report.kills.length);
    await backend.freezeAt(points[0]?.freezeAt);
    const created: { id?: string } = {};
    const done = progress(scenario.kind, bodyOf(scenario.kind, version), id => {
      created.id = id;
    });
    // Awaited below; when something else fails first, its rejection is not unhandled.
    done.catch(() => {});
    for (const [i, point] of points.entries()) {
      if (!(await pointReached(point, () => created.id, done))) {
        // The deployment ended; a backend that froze just after its last write answers no more.
        const disarmed = await Promise.race([
          backend.freezeAt(undefined).then(() => true),
          backend.frozen.then(() => false),
        ]);
        if (disarmed) {
          report.missed.push(...points.slice(i).map(p => p.name));
          break;
        }
      }
      await backend.kill();
      const killedId =
        created.id ??
        (await db('gekko_deployments').orderBy('created_at', 'desc').first())
          ?.id;
      const killed = killedId ? await rowOf(killedId) : undefined;
      if (killed) {
        report.kills.push({
          point: point.name,
          kind: scenario.kind,
          deployment: killed.id,
          state: killed.state,
          step: killed.step + 1,
        });
        log(
          `kill ${report.kills.length}: ${point.name} → ${killed.state} step ${
            killed.step + 1
          }`,
        );
      }
      const [{ n }] = killed
        ? await db('gekko_deployment_events')
            .where({ deployment_id: killed.id })
            .count({ n: '*' })
        : [{ n: 0 }];
      const spawned = performance.now();
      const taken =
        killed && !FINAL.includes(killed.state)
          ? resumed(killed.id, killed, Number(n))
          : undefined;
      taken?.catch(() => {});
      await spawn(points[i + 1]?.freezeAt);
      const takenUpAt = await taken;
      if (taken && takenUpAt === undefined) report.stuck.push(killed!.id);
      if (takenUpAt !== undefined) report.resumeMs.push(takenUpAt - spawned);
    }
    const row = await done;
    versionOf.set(row.id, version);
    report.deployments.push({
      id: row.id,
      kind: scenario.kind,
      state: row.state,
      reason: row.reason,
    });
    const problem = weightProblem(row, version, before, await versions(db));
    if (problem) report.wrongWeights.push(problem);
    log(`${scenario.kind} deployment ${row.id} ended ${row.state}`);
  }

  await spawn();
  const flow = traffic();
  try {
    while (report.kills.length < limit) {
      for (const scenario of SCENARIOS) {
        if (report.kills.length >= limit) break;
        await runScenario(scenario);
      }
    }
    for (const { id } of report.deployments) {
      const row = (await rowOf(id))!;
      const { problems, reapplied } = await historyProblems(
        db,
        row,
        versionOf.get(id)!,
      );
      report.doubled.push(...problems);
      report.reapplied += reapplied;
    }
    const verify = await call('GET', '/audit/verify');
    if (verify) report.audit = verify.body;
  } finally {
    closed = true;
    flowing = false;
    await flow;
    await backend!.stop();
  }
  return report;
}
