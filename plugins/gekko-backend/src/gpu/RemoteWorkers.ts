import { LoggerService } from '@backstage/backend-plugin-api';
import {
  describeNatsAuth,
  NatsControlPlane,
  NatsControlPlaneOptions,
  WorkerLinkEvents,
} from '@gekko/worker';

/**
 * The scale-out transport: workers on other hosts join through NATS. The connection is retried in
 * the background (1 s, doubling to 30 s) so a NATS outage at start-up does not stop the portal; the
 * embedded workers serve meanwhile.
 */
export class RemoteWorkers {
  private plane: NatsControlPlane | undefined;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: Omit<NatsControlPlaneOptions, 'events'> & {
      events: WorkerLinkEvents;
      logger: LoggerService;
    },
  ) {}

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

  private async attempt(backoffMs: number): Promise<void> {
    const { logger, ...options } = this.options;
    const servers = [options.servers].flat().join(', ');
    try {
      this.plane = await NatsControlPlane.connect({ ...options, logger });
      logger.info(
        `Remote workers join over NATS at ${servers} (${describeNatsAuth(
          options.auth,
        )}, subjects ${options.subjectPrefix ?? 'gekko'}.>)`,
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
