import { LoggerService } from '@backstage/backend-plugin-api';
import { gpuPoolEntityRef } from '@gekko/plugin-gekko-common';
import {
  describeNatsAuth,
  describeNatsTls,
  NatsControlPlane,
  NatsControlPlaneOptions,
  NatsHeartbeatRefusal,
  WorkerLinkEvents,
} from '@gekko/worker';
import { Counter, Registry } from 'prom-client';
import type { AuditTrail } from '../audit/AuditTrail';

const REFUSED_METRIC = 'gekko_worker_heartbeats_refused_total';

/** The audit actor of a refused heartbeat: the worker identity its NATS subject proves. */
export function natsWorkerActor(pool: string, id: string): string {
  return `worker:${pool}/${id}`;
}

/**
 * The scale-out transport: workers on other hosts join through NATS. The connection is retried in
 * the background (1 s, doubling to 30 s) so a NATS outage at start-up does not stop the portal; the
 * embedded workers serve meanwhile.
 *
 * A heartbeat whose body claims another pool or worker id than the subject the NATS server let its
 * sender publish on is refused: counted in `gekko_worker_heartbeats_refused_total` (by the
 * subject's pool) and audited as a denied `worker.join`, at most once a minute per subject.
 */
export class RemoteWorkers {
  private plane: NatsControlPlane | undefined;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly refused: Counter | undefined;

  constructor(
    private readonly options: Omit<
      NatsControlPlaneOptions,
      'events' | 'onRefusal'
    > & {
      events: WorkerLinkEvents;
      logger: LoggerService;
      /** Where refused heartbeats are audited. */
      trail?: AuditTrail;
      /** Where refused heartbeats are counted. */
      registry?: Registry;
    },
  ) {
    const { registry } = options;
    if (registry) {
      this.refused =
        (registry.getSingleMetric(REFUSED_METRIC) as Counter | undefined) ??
        new Counter({
          name: REFUSED_METRIC,
          help: 'Remote worker heartbeats refused because their body claims another pool or worker id than their NATS subject, by the subject’s pool',
          labelNames: ['pool'],
          registers: [registry],
        });
    }
  }

  /** Connects (waiting for the first attempt only) and keeps trying after a failure. */
  async start(): Promise<void> {
    await this.attempt(1000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.plane?.close();
    this.plane = undefined;
  }

  private onRefusal(refusal: NatsHeartbeatRefusal) {
    this.refused?.inc({ pool: refusal.subjectPool });
    const { trail, logger } = this.options;
    if (!refusal.report || !trail) return;
    trail
      .append({
        actor: natsWorkerActor(refusal.subjectPool, refusal.subjectId),
        action: 'worker.join',
        target: gpuPoolEntityRef(refusal.claimedPool),
        outcome: 'denied',
        requestId: null,
        details: {
          reason: refusal.reason,
          subject: refusal.subject,
          subjectPool: refusal.subjectPool,
          subjectId: refusal.subjectId,
          claimedPool: refusal.claimedPool,
          claimedId: refusal.claimedId,
          refusedSinceLastRecord: refusal.unreported,
        },
      })
      .catch(error =>
        logger.warn(
          `Could not audit the refused heartbeat on ${
            refusal.subject
          }: ${String(error)}`,
        ),
      );
  }

  private async attempt(backoffMs: number): Promise<void> {
    const {
      logger,
      trail: _trail,
      registry: _registry,
      ...options
    } = this.options;
    const servers = [options.servers].flat().join(', ');
    try {
      this.plane = await NatsControlPlane.connect({
        ...options,
        logger,
        onRefusal: refusal => this.onRefusal(refusal),
      });
      logger.info(
        `Remote workers join over NATS at ${servers} (${describeNatsAuth(
          options.auth,
        )}; ${describeNatsTls(options.tls)}; subjects ${
          options.subjectPrefix ?? 'gekko'
        }.>)`,
      );
      if (this.stopped) await this.stop();
    } catch (error) {
      if (this.stopped) return;
      logger.error(
        `Could not reach NATS at ${servers}: ${
          (error as Error).message
        }; remote workers cannot join until it answers (retrying in ${
          backoffMs / 1000
        } s)`,
      );
      this.timer = setTimeout(
        () => this.attempt(Math.min(backoffMs * 2, 30_000)),
        backoffMs,
      );
      this.timer.unref?.();
    }
  }
}
