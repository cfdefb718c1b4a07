/*
 * A gekko backend in a process of its own, for the kill tests (`spawnDeploymentBackend` starts it):
 * the gekko plugin over the database the parent names, one embedded worker serving `mlp`, a catalog
 * with the deployments' entity, the events service and permissions that allow everything. It writes
 * `READY <port>` on stdout once it serves. With a freeze point (GEKKO_FREEZE_AT, a regular
 * expression, or later a line `FREEZE <regexp>` on stdin, answered `ARMED`), the first log line that
 * matches stops the process where it stands (`FROZEN <line>`, then a synchronous wait) for the parent
 * to SIGKILL it there: a kill at an exact point of the state machine, e.g. between a step's traffic
 * change and the transition that records it. Model registry announcements go out as `EVENT <json>`
 * and come in the same way on stdin: the parent relays them between replicas, as the events
 * backend's bus does in production.
 */
import {
  coreServices,
  createServiceFactory,
  LoggerService,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import {
  DefaultEventsService,
  eventsServiceRef,
} from '@backstage/plugin-events-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { MODEL_VERSION_EVENTS_TOPIC } from '@gekko/plugin-gekko-common';
import knexFactory from 'knex';
import fs from 'node:fs';
import readline from 'node:readline';
import { mlpGekkoConfig } from '../../bench/twoModelVersions';
import { gekkoPlugin } from '../../plugin';
import { inferenceGatewayEntity } from './inferenceGatewayEntity';
import type { DeploymentBackendOptions } from './spawnDeploymentBackend';

const options: DeploymentBackendOptions = JSON.parse(
  process.env.GEKKO_DEPLOYMENT_BACKEND ?? '{}',
);
let freezeAt = process.env.GEKKO_FREEZE_AT
  ? new RegExp(process.env.GEKKO_FREEZE_AT)
  : undefined;

function say(line: string) {
  fs.writeSync(1, `${line.replace(/\n/g, ' ')}\n`);
}

/** Quiet but for errors and warnings (to stderr), and the freeze point. */
class ProcessLogger implements LoggerService {
  private static frozen = false;

  error(message: string, meta?: Error | object) {
    this.freezeOn(message);
    process.stderr.write(`error: ${message} ${meta ? String(meta) : ''}\n`);
  }
  warn(message: string) {
    this.freezeOn(message);
    process.stderr.write(`warn: ${message}\n`);
  }
  info(message: string) {
    this.freezeOn(message);
  }
  debug() {}
  child(): LoggerService {
    return this;
  }

  private freezeOn(message: string) {
    if (!freezeAt || ProcessLogger.frozen || !freezeAt.test(message)) {
      return;
    }
    ProcessLogger.frozen = true;
    say(`FROZEN ${message}`);
    // Nothing of this thread runs any more; the parent kills the process here.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    process.exit(3);
  }
}

async function main() {
  const knex = knexFactory({
    ...options.database,
    ...(options.database.client === 'better-sqlite3'
      ? { useNullAsDefault: true }
      : { pool: { min: 0, max: 5 } }),
  });
  const logger = new ProcessLogger();
  const events = DefaultEventsService.create({ logger, useEventBus: 'never' });
  const relayedIn = new Map<string, number>();
  await events.subscribe({
    id: 'kill-test-relay',
    topics: [MODEL_VERSION_EVENTS_TOPIC],
    onEvent: async ({ topic, eventPayload }) => {
      const line = JSON.stringify({ topic, eventPayload });
      const echoes = relayedIn.get(line) ?? 0;
      if (echoes) relayedIn.set(line, echoes - 1);
      else say(`EVENT ${line}`); // only what this replica announced goes out
    },
  });
  const backend = await startTestBackend({
    features: [
      gekkoPlugin,
      createServiceFactory({
        service: coreServices.rootLogger,
        deps: {},
        factory: () => logger,
      }),
      createServiceFactory({
        service: eventsServiceRef,
        deps: {},
        factory: () => events,
      }),
      mockServices.database.factory({ knex }),
      mockServices.rootConfig.factory({
        data: {
          gekko: {
            ...mlpGekkoConfig(options.modelsDir, 1),
            deployments: { leaseDuration: { milliseconds: options.leaseMs } },
          },
        },
      }),
      catalogServiceMock.factory({ entities: [inferenceGatewayEntity] }),
      mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
    ],
  });
  readline.createInterface({ input: process.stdin }).on('line', line => {
    if (line.startsWith('EVENT ')) {
      const relayed = line.slice('EVENT '.length);
      relayedIn.set(relayed, (relayedIn.get(relayed) ?? 0) + 1);
      events.publish(JSON.parse(relayed)).catch(() => {});
    } else if (line.startsWith('FREEZE')) {
      const pattern = line.slice('FREEZE'.length).trim();
      freezeAt = pattern ? new RegExp(pattern) : undefined;
      say('ARMED');
    }
  });
  const address = backend.server.address();
  say(`READY ${typeof address === 'object' ? address?.port : address}`);
  process.on('SIGTERM', () => {
    backend.stop().finally(() => process.exit(0));
  });
}

main().catch(error => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
});
