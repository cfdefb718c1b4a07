import {
  AuthService,
  LoggerService,
  SchedulerServiceTaskRunner,
} from '@backstage/backend-plugin-api';
import {
  EntityProvider,
  EntityProviderConnection,
} from '@backstage/plugin-catalog-node';
import { EventsService } from '@backstage/plugin-events-node';
import {
  GekkoClient,
  GPU_POOL_EVENTS_TOPIC,
  GpuPoolChangedEvent,
  gpuPoolEntityRef,
} from '@gekko/plugin-gekko-common';
import { poolToEntity } from './poolEntity';

/**
 * GPU pools as catalog entities: a full refresh on a schedule, and a delta for every pool change
 * the gekko backend announces, so a change shows in the catalog within seconds.
 */
export class GekkoPoolEntityProvider implements EntityProvider {
  private connection?: EntityProviderConnection;

  constructor(
    private readonly options: {
      /** The gekko backend's client; the provider calls it as the catalog plugin (a service token). */
      client: GekkoClient;
      auth: AuthService;
      events: EventsService;
      taskRunner: SchedulerServiceTaskRunner;
      logger: LoggerService;
    },
  ) {}

  getProviderName(): string {
    return 'gekko-gpu-pools';
  }

  async connect(connection: EntityProviderConnection): Promise<void> {
    this.connection = connection;
    await this.options.taskRunner.run({
      id: `${this.getProviderName()}:refresh`,
      fn: () => this.refresh(),
    });
    await this.options.events.subscribe({
      id: this.getProviderName(),
      topics: [GPU_POOL_EVENTS_TOPIC],
      onEvent: async event =>
        this.applyChange(event.eventPayload as GpuPoolChangedEvent),
    });
  }

  /** Replaces every pool entity with what the gekko backend has now. */
  async refresh(): Promise<void> {
    const connection = this.requireConnection();
    const pools = await this.listPoolsWhenReady();
    await connection.applyMutation({
      type: 'full',
      entities: pools.map(pool => ({
        entity: poolToEntity(pool, this.getProviderName()),
        locationKey: this.getProviderName(),
      })),
    });
    this.options.logger.info(`Refreshed ${pools.length} GPU pools`);
  }

  /**
   * The first refresh can run while the gekko backend is still starting (503): it retries for a
   * minute rather than leave the catalog without pools until the next scheduled run.
   */
  private async listPoolsWhenReady() {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.client.listPools(await this.asCatalog());
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode;
        if (status !== 503 || attempt >= 12) throw error;
        this.options.logger.info(
          'The gekko backend is still starting; retrying in 5 s',
        );
        await new Promise(resolve => setTimeout(resolve, 5000));
      }
    }
  }

  /** Request options that make the gekko backend see the catalog plugin as the caller. */
  private async asCatalog() {
    const { auth } = this.options;
    const { token } = await auth.getPluginRequestToken({
      onBehalfOf: await auth.getOwnServiceCredentials(),
      targetPluginId: 'gekko',
    });
    return { token };
  }

  /** Adds, replaces or removes the one pool an event names. */
  async applyChange(event: GpuPoolChangedEvent): Promise<void> {
    const connection = this.requireConnection();
    const pool =
      event.change === 'deleted'
        ? undefined
        : await this.options.client.findPool(
            event.name,
            await this.asCatalog(),
          );
    await connection.applyMutation(
      pool
        ? {
            type: 'delta',
            added: [
              {
                entity: poolToEntity(pool, this.getProviderName()),
                locationKey: this.getProviderName(),
              },
            ],
            removed: [],
          }
        : {
            type: 'delta',
            added: [],
            removed: [
              {
                entityRef: gpuPoolEntityRef(event.name),
                locationKey: this.getProviderName(),
              },
            ],
          },
    );
    this.options.logger.info(`GPU pool ${event.name} ${event.change}`);
  }

  private requireConnection(): EntityProviderConnection {
    if (!this.connection) {
      throw new Error(`${this.getProviderName()} is not connected yet`);
    }
    return this.connection;
  }
}
