import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  createDeploymentSchema,
  Deployment,
  DeploymentDryRun,
  DeploymentEvent,
  DeploymentSignal,
  DeploymentState,
  FINAL_DEPLOYMENT_STATES,
} from '@gekko/plugin-gekko-common';
import type {
  AnalysisThresholds,
  DeploymentCheck,
  DeploymentRequest,
  DeploymentSnapshot,
  DeploymentTarget,
  DeploymentTargetContext,
  RolloutStep,
} from '@gekko/plugin-gekko-node';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { AuditContext } from '../audit/AuditContext';
import { AuditedChanges } from '../audit/AuditedChanges';
import {
  DeploymentChange,
  DeploymentStore,
  isInFlightViolation,
} from './DeploymentStore';
import { DeploymentTargets } from './DeploymentTargets';

type CreateDeployment = z.output<typeof createDeploymentSchema>;

/** Options of a {@link DeploymentOrchestrator}. */
export interface DeploymentOrchestratorOptions {
  logger: LoggerService;
  /** This replica's name in leases; defaults to `<host>/<pid>/<random>`. */
  owner?: string;
  /** How long a lease holds without renewal; defaults to 15 s. */
  leaseMs?: number;
  /** How often an inconclusive analysis is asked again; defaults to 1 s. */
  analysisIntervalMs?: number;
  /**
   * For how long after this replica starts a failed check of the fleet (network, hardware) or a
   * target call that throws is tried again each second instead of ending the deployment: workers
   * join a restarted backend within a few heartbeats. Defaults to 10 s.
   */
  settleMs?: number;
  /**
   * Told after each change of a deployment is committed (it was created, changed state or step):
   * the live updates of the Deployments tab. Its errors are logged, never thrown.
   */
  onChange?: (change: DeploymentSignal) => void | Promise<void>;
}

const isFinal = (state: DeploymentState) =>
  FINAL_DEPLOYMENT_STATES.includes(state);

/** The 409 of a deployment refused because another of the same entity and target is in flight. */
function inFlightConflict(inFlight: Deployment) {
  return new ConflictError(
    `Deployment ${inFlight.id} of ${inFlight.entityRef} to ${inFlight.target} is still ${inFlight.state}; wait for it to end (GET /deployments/${inFlight.id})`,
  );
}

/** A wait that ends early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted || ms <= 0) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Drives deployments through validation → preparation → activation → verification, and back through
 * rollback, as a persisted state machine: every transition is a row (and an audit record on the
 * entity) written before the side effect it announces, so a backend restarted at any point picks each
 * deployment up where its rows say it is, and repeats at most the one idempotent call it was making.
 * A lease on the row makes one replica drive each deployment.
 */
export class DeploymentOrchestrator {
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly driving = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();
  private sweep?: NodeJS.Timeout;
  private readonly settlesAt: number;

  constructor(
    private readonly store: DeploymentStore,
    private readonly targets: DeploymentTargets,
    private readonly changes: AuditedChanges,
    private readonly options: DeploymentOrchestratorOptions,
  ) {
    // Host and process in the name, so an operator (or a test) sees which replica holds a lease.
    this.owner =
      options.owner ??
      `${hostname().slice(0, 40)}/${process.pid}/${randomUUID().slice(0, 4)}`;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.settlesAt = Date.now() + (options.settleMs ?? 10_000);
  }

  /** Validates and plans a request without storing or changing anything. */
  async dryRun(
    input: CreateDeployment,
    actor: string,
  ): Promise<DeploymentDryRun> {
    const { target, request } = this.prepare(input, 'dry-run');
    const checks = await this.validate(
      target,
      request,
      this.targetContext(request, input.analysis, actor),
    );
    const plan = await this.planOf(target, request, input);
    return {
      dryRun: true,
      valid: checks.every(c => c.passed),
      checks,
      plan,
    };
  }

  /** Stores a deployment (with its audit record) and starts driving it; answers it as stored. */
  async create(
    context: AuditContext,
    input: CreateDeployment,
  ): Promise<Deployment> {
    const id = randomUUID();
    const { target, request } = this.prepare(input, id);
    const plan = await this.planOf(target, request, input);
    const now = new Date().toISOString();
    const deployment: Deployment = {
      id,
      entityRef: input.entityRef,
      target: input.target,
      strategy: input.strategy,
      spec: input.spec,
      options: { pauseMs: input.pauseMs, analysis: input.analysis },
      plan,
      state: 'pending',
      step: 0,
      createdBy: context.actor,
      createdAt: now,
      updatedAt: now,
    };
    await this.changes.run(
      context,
      {
        action: 'deployment.create',
        target: input.entityRef,
        subject: { deployment: id },
      },
      async trx => {
        // Checked by the insert itself: of two creates at the same moment, one gets the 409.
        const inFlight = await this.store.insertAlone(trx, deployment);
        if (inFlight) throw inFlightConflict(inFlight);
        return {
          result: undefined,
          details: {
            target: input.target,
            strategy: input.strategy,
            spec: input.spec as Record<string, unknown>,
            steps: plan.map(s => s.weight),
          },
        };
      },
    );
    this.announce({
      id,
      entityRef: input.entityRef,
      state: 'pending',
      step: 0,
      kind: 'state',
      message: `${input.strategy} deployment created by ${context.actor}`,
      time: now,
    });
    this.drive(id);
    return this.get(id);
  }

  /**
   * Rolls a succeeded deployment back to what it replaced. A deployment already rolled back is
   * answered as it is (rolling back twice is harmless); one still in flight or failed is a 409.
   * `deployment` is as the caller just read it ({@link DeploymentOrchestrator.get}), to check
   * who may roll it back: it is not read again here, and the transition checks inside its
   * transaction that the state is still the one read.
   */
  async rollback(
    context: AuditContext,
    deployment: Deployment,
  ): Promise<Deployment> {
    const { id } = deployment;
    if (
      deployment.state === 'rolled_back' ||
      deployment.state === 'rolling_back'
    ) {
      return deployment;
    }
    if (deployment.state !== 'succeeded') {
      throw new ConflictError(
        `Deployment ${id} is ${deployment.state}: only a succeeded deployment can be rolled back; one in flight rolls back by itself when a check or analysis fails`,
      );
    }
    try {
      await this.transition(
        deployment,
        {
          state: 'rolling_back',
          reason: `rollback requested by ${context.actor}`,
        },
        { kind: 'rollback', message: `Rollback requested by ${context.actor}` },
        { context, action: 'deployment.rollback' },
      );
    } catch (error) {
      // Restoring its snapshot under a newer deployment in flight would undo that one's steps.
      const inFlight =
        isInFlightViolation(error) &&
        (await this.store.inFlight(deployment.entityRef, deployment.target));
      throw inFlight ? inFlightConflict(inFlight) : error;
    }
    this.drive(id);
    return this.get(id);
  }

  /** One deployment with its events; 404 when unknown. */
  async get(id: string): Promise<Deployment & { events: DeploymentEvent[] }> {
    const deployment = await this.store.get(id);
    if (!deployment) {
      throw new NotFoundError(
        `No deployment ${id}; GET /deployments lists them`,
      );
    }
    return { ...deployment, events: await this.store.events(id) };
  }

  /** Deployments, newest first, of an entity or of all. */
  list(entityRef?: string, limit = 50): Promise<Deployment[]> {
    return this.store.list({ entityRef, limit });
  }

  /** Picks up every deployment in flight (after a restart, or one another replica let go). */
  async resume(): Promise<void> {
    for (const deployment of await this.store.unfinished()) {
      this.drive(deployment.id);
    }
  }

  /**
   * Resumes what is in flight, then sweeps again every half lease: a deployment whose replica died
   * is taken over once its lease expires, without waiting for a restart.
   */
  async start(): Promise<void> {
    await this.resume();
    if (this.sweep || this.stopping.signal.aborted) return;
    this.sweep = setInterval(() => {
      this.resume().catch(error =>
        this.options.logger.warn(`Could not sweep for deployments: ${error}`),
      );
    }, this.leaseMs / 2);
    this.sweep.unref();
  }

  /** Resolves once every deployment this replica drives has reached a final state. */
  async settled(): Promise<void> {
    while (this.driving.size > 0) {
      await Promise.allSettled([...this.driving.values()]);
    }
  }

  /** Stops driving (on shutdown): in-flight deployments stay as their rows say, to be resumed. */
  async stop(): Promise<void> {
    clearInterval(this.sweep);
    this.stopping.abort();
    await Promise.allSettled([...this.driving.values()]);
  }

  private prepare(input: CreateDeployment, id: string) {
    const target = this.targets.get(input.target);
    if (!target.strategies.includes(input.strategy)) {
      throw new InputError(
        `strategy: target ${target.name} does not carry out ${
          input.strategy
        } deployments; it does ${target.strategies.join(', ')}`,
      );
    }
    if (input.steps && input.strategy !== 'canary') {
      throw new InputError(
        `steps: only a canary takes traffic steps; a ${input.strategy} deployment plans its own`,
      );
    }
    const request: DeploymentRequest = {
      id,
      entityRef: input.entityRef,
      target: input.target,
      strategy: input.strategy,
      spec: input.spec as DeploymentRequest['spec'],
      ...(input.steps ? { steps: input.steps } : {}),
    };
    return { target, request };
  }

  private async planOf(
    target: DeploymentTarget,
    request: DeploymentRequest,
    input: CreateDeployment,
  ): Promise<RolloutStep[]> {
    const plan = await target.plan({
      ...request,
      ...(input.steps ? { steps: input.steps } : {}),
    });
    if (!plan.length || !plan[plan.length - 1].final) {
      throw new Error(
        `Deployment target ${target.name} planned no final step for a ${input.strategy} deployment`,
      );
    }
    return plan;
  }

  private targetContext(
    request: DeploymentRequest,
    analysis: AnalysisThresholds,
    actor = 'plugin:gekko',
    stepAppliedAt?: number,
  ): DeploymentTargetContext {
    return {
      analysis,
      logger: this.options.logger.child({ deployment: request.id }),
      log: message =>
        this.options.logger.info(`deployment ${request.id}: ${message}`),
      signal: this.stopping.signal,
      actor,
      ...(stepAppliedAt !== undefined ? { stepAppliedAt } : {}),
    };
  }

  /**
   * The validation table: the security row (the person may deploy this entity: the route checked
   * `gekko.deployment.create` on it before anything was stored), then the target's own checks.
   */
  private async validate(
    target: DeploymentTarget,
    request: DeploymentRequest,
    context: DeploymentTargetContext,
  ): Promise<DeploymentCheck[]> {
    const security: DeploymentCheck = {
      name: 'the caller may deploy to this entity',
      category: 'security',
      passed: true,
      evidence: `${context.actor} holds gekko.deployment.create on ${request.entityRef} (the permission policy, asked when the deployment was requested)`,
    };
    return [security, ...(await target.validate(request, context))];
  }

  /** Drives a deployment in the background, once per replica, while this replica holds its lease. */
  private drive(id: string): void {
    if (this.driving.has(id) || this.stopping.signal.aborted) return;
    const run = this.driveLeased(id)
      .catch(error =>
        this.options.logger.error(
          `Deployment ${id} stopped with an error; it resumes on the next start: ${error}`,
        ),
      )
      .finally(() => this.driving.delete(id));
    this.driving.set(id, run);
  }

  private async driveLeased(id: string): Promise<void> {
    const leased = () =>
      this.store.lease(id, this.owner, Date.now(), Date.now() + this.leaseMs);
    if (!(await leased())) return; // another replica drives it
    const renew = setInterval(() => {
      leased().catch(() => {});
    }, this.leaseMs / 3);
    try {
      let deployment = await this.store.get(id);
      while (
        deployment &&
        !isFinal(deployment.state) &&
        !this.stopping.signal.aborted
      ) {
        await this.advance(deployment);
        deployment = await this.store.get(id);
      }
      if (deployment && isFinal(deployment.state)) {
        await this.store.release(id, this.owner);
      }
    } finally {
      clearInterval(renew);
      // On shutdown the lease goes back at once: another replica, or this one restarted, resumes.
      if (this.stopping.signal.aborted) {
        await this.store.release(id, this.owner).catch(() => {});
      }
    }
  }

  /** Takes one step of the state machine. */
  private async advance(deployment: Deployment): Promise<void> {
    const target = this.targets.get(deployment.target);
    const request = this.requestOf(deployment);
    const context = this.targetContext(
      request,
      this.analysisOf(deployment),
      deployment.createdBy,
    );
    const step = deployment.plan[deployment.step];
    switch (deployment.state) {
      case 'pending':
        await this.transition(
          deployment,
          { state: 'validating' },
          { kind: 'state', message: 'Validating' },
        );
        return;
      case 'validating': {
        const checks = await this.validate(target, request, context);
        const failed = checks.filter(c => !c.passed);
        const fleetOnly = failed.every(c => c.category !== 'software');
        if (failed.length && fleetOnly && this.settling()) {
          await sleep(1000, this.stopping.signal); // the fleet may not have reported yet
          return;
        }
        if (failed.length) {
          await this.transition(
            deployment,
            {
              state: 'failed',
              checks,
              reason: `Validation failed: ${failed
                .map(c => `${c.name}: ${c.reason ?? c.evidence}`)
                .join('; ')}`,
            },
            {
              kind: 'state',
              message: `Validation failed (${failed.length} of ${checks.length} checks); nothing was changed`,
              evidence: checks,
            },
          );
          return;
        }
        await this.transition(
          deployment,
          { state: 'preparing', checks },
          {
            kind: 'state',
            message: `Validated: ${checks.length} checks passed`,
            evidence: checks,
          },
        );
        return;
      }
      case 'preparing': {
        const snapshot = await target.snapshot(request, context);
        await this.transition(
          deployment,
          { state: 'activating', step: 0, snapshot },
          {
            kind: 'state',
            message: 'Snapshot of what the deployment replaces stored',
            evidence: snapshot,
          },
        );
        return;
      }
      case 'activating': {
        // The row says "activating step N" before the step is applied: a restart re-applies it.
        const applied = await this.guard(deployment, async () => {
          await target.applyStep(request, step, context);
          return true;
        });
        if (!applied) return;
        await this.transition(
          deployment,
          { state: 'verifying' },
          {
            kind: 'step',
            message: `Applied step ${step.index + 1} of ${
              deployment.plan.length
            }: ${step.name}`,
          },
        );
        return;
      }
      case 'verifying':
        await this.verify(deployment, target, request, step);
        return;
      case 'rolling_back': {
        const snapshot = deployment.snapshot as DeploymentSnapshot | undefined;
        if (!snapshot) {
          await this.transition(
            deployment,
            { state: 'rolled_back' },
            {
              kind: 'rollback',
              message:
                'Nothing to restore: no change was made before the rollback',
            },
          );
          return;
        }
        try {
          await this.withRetries(() =>
            target.restore(request, snapshot, context),
          );
        } catch (error) {
          await this.transition(
            deployment,
            {
              state: 'failed',
              reason: `The rollback failed: ${(error as Error).message}`,
            },
            {
              kind: 'error',
              message: `Could not restore the snapshot: ${
                (error as Error).message
              }`,
            },
          );
          return;
        }
        await this.transition(
          deployment,
          { state: 'rolled_back' },
          {
            kind: 'rollback',
            message: 'Rolled back: the snapshot is restored',
          },
        );
        return;
      }
      default:
        return;
    }
  }

  private async verify(
    deployment: Deployment,
    target: DeploymentTarget,
    request: DeploymentRequest,
    step: RolloutStep,
  ) {
    const appliedAt = Date.parse(deployment.updatedAt);
    const { pauseMs } = deployment.options;
    const { timeoutMs } = deployment.options.analysis;
    await sleep(appliedAt + pauseMs - Date.now(), this.stopping.signal);
    const context = this.targetContext(
      request,
      this.analysisOf(deployment),
      deployment.createdBy,
      appliedAt,
    );
    for (;;) {
      if (this.stopping.signal.aborted) return;
      const analysis = await this.guard(deployment, () =>
        target.analyse(request, step, context),
      );
      if (!analysis) return;
      if (analysis.verdict === 'inconclusive') {
        if (Date.now() - appliedAt < pauseMs + timeoutMs) {
          await sleep(
            this.options.analysisIntervalMs ?? 1000,
            this.stopping.signal,
          );
          continue;
        }
        analysis.verdict = 'fail';
        analysis.reason = `not enough evidence within ${timeoutMs} ms: ${
          analysis.reason ?? 'too little traffic'
        }`;
      }
      const evidence = analysis;
      if (analysis.verdict === 'fail') {
        await this.transition(
          deployment,
          {
            state: 'rolling_back',
            reason: `Analysis of step ${step.index + 1} failed: ${
              analysis.reason
            }`,
          },
          {
            kind: 'analysis',
            message: `Analysis of step ${step.index + 1} failed: ${
              analysis.reason
            }; rolling back`,
            evidence,
          },
        );
        return;
      }
      await this.transition(
        deployment,
        step.final
          ? { state: 'succeeded' }
          : { state: 'activating', step: step.index + 1 },
        {
          kind: 'analysis',
          message: `Analysis of step ${step.index + 1} passed${
            step.final ? ': deployment succeeded' : ''
          }`,
          evidence,
        },
      );
      return;
    }
  }

  /**
   * Runs a target call; when it throws, the deployment turns to rolling back (the reason recorded)
   * and the answer is undefined. While this replica settles, the call is made again instead.
   */
  private async guard<T>(
    deployment: Deployment,
    call: () => Promise<T>,
  ): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      if (this.stopping.signal.aborted) return undefined;
      if (this.settling()) {
        await sleep(1000, this.stopping.signal); // asked again: workers may still be joining
        return undefined;
      }
      const message = (error as Error).message ?? String(error);
      await this.transition(
        deployment,
        {
          state: 'rolling_back',
          reason: `${deployment.state} step ${
            deployment.step + 1
          } failed: ${message}`,
        },
        { kind: 'error', message: `Failed: ${message}; rolling back` },
      );
      return undefined;
    }
  }

  /** Whether this replica started too recently for its fleet to have reported. */
  private settling(): boolean {
    return Date.now() < this.settlesAt && !this.stopping.signal.aborted;
  }

  private async withRetries<T>(call: () => Promise<T>, attempts = 3) {
    for (let i = 1; ; i++) {
      try {
        return await call();
      } catch (error) {
        if (i >= attempts || this.stopping.signal.aborted) throw error;
        await sleep(250 * 2 ** i, this.stopping.signal);
      }
    }
  }

  /** Writes a transition and its event, with its audit record on the entity, in one transaction. */
  private async transition(
    deployment: Deployment,
    change: DeploymentChange & { state: DeploymentState },
    event: Omit<DeploymentEvent, 'id' | 'time' | 'state' | 'step'>,
    by?: { context: AuditContext; action: string },
  ): Promise<void> {
    const context = by?.context ?? {
      actor: deployment.createdBy,
      requestId: `deployment:${deployment.id}`,
    };
    const step = change.step ?? deployment.step;
    await this.changes.run(
      context,
      {
        action: by?.action ?? `deployment.${change.state}`,
        target: deployment.entityRef,
        subject: { deployment: deployment.id },
      },
      async trx => {
        const current = await this.store.get(deployment.id, trx);
        if (current?.state !== deployment.state) {
          throw new ConflictError(
            `Deployment ${deployment.id} is ${current?.state}, no longer ${deployment.state}`,
          );
        }
        // The fence: a replica that lost its lease (stalled past it) writes nothing more; it is renewed.
        const now = Date.now();
        if (
          !by &&
          !(await this.store.lease(
            deployment.id,
            this.owner,
            now,
            now + this.leaseMs,
            trx,
          ))
        ) {
          throw new ConflictError(
            `Deployment ${deployment.id} is driven by another replica now; ${this.owner} stops`,
          );
        }
        await this.store.update(trx, deployment.id, change, {
          ...event,
          state: change.state,
          step,
        });
        return {
          result: undefined,
          details: {
            from: deployment.state,
            to: change.state,
            step: step + 1,
            message: event.message,
            ...(change.reason ? { reason: change.reason } : {}),
          },
        };
      },
    );
    this.options.logger.info(
      `Deployment ${deployment.id} (${deployment.entityRef}): ${event.message}`,
    );
    this.announce({
      id: deployment.id,
      entityRef: deployment.entityRef,
      state: change.state,
      step,
      kind: event.kind,
      message: event.message,
      time: new Date().toISOString(),
    });
  }

  /** Tells the listener of a committed change; a listener that fails never fails the deployment. */
  private announce(change: DeploymentSignal): void {
    const { onChange, logger } = this.options;
    if (!onChange) return;
    Promise.resolve()
      .then(() => onChange(change))
      .catch(error =>
        logger.warn(
          `Could not announce deployment ${change.id} (${change.state}): ${error}`,
        ),
      );
  }

  private analysisOf(deployment: Deployment): AnalysisThresholds {
    const { maxP99Ms, maxErrorRate, minSamples, passScore, marginalScore } =
      deployment.options.analysis;
    return {
      maxP99Ms,
      maxErrorRate,
      minSamples,
      // Deployments stored before the score thresholds existed judge with the defaults.
      ...(passScore !== undefined ? { passScore } : {}),
      ...(marginalScore !== undefined ? { marginalScore } : {}),
    };
  }

  private requestOf(deployment: Deployment): DeploymentRequest {
    return {
      id: deployment.id,
      entityRef: deployment.entityRef,
      target: deployment.target,
      strategy: deployment.strategy,
      spec: deployment.spec as DeploymentRequest['spec'],
    };
  }
}
