import { mockServices } from '@backstage/backend-test-utils';
import {
  HeartbeatMessage,
  TelemetrySampler,
  WorkerConnection,
  WorkerIdentity,
} from '@gekko/worker';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findTestBinary } from '../__testUtils__/binaries';
import { GpuManager } from '../gpu/GpuManager';
import { InferenceMetrics } from './InferenceMetrics';

const fixtures = path.resolve(
  __dirname,
  '../../../../packages/gekko-worker/src/telemetry/__fixtures__',
);

function connection(identity: WorkerIdentity): WorkerConnection {
  return {
    identity,
    command: async () => ({}),
    infer: async () => {
      throw new Error('not used');
    },
    close: async () => {},
  };
}

/** A heartbeat as a worker on a host whose nvidia-smi printed `fixture` would send it. */
async function heartbeatFrom(
  fixture: string,
  worker: WorkerIdentity,
): Promise<HeartbeatMessage> {
  const output = fs.readFileSync(path.join(fixtures, fixture), 'utf8');
  const sampler = new TelemetrySampler({
    runCommand: async file => {
      if (file === 'nvidia-smi') return output;
      throw new Error(`unexpected command ${file}`);
    },
  });
  return { worker, seq: 1, heartbeat: await sampler.sample() };
}

const promtool = findTestBinary(
  'promtool',
  'promtool check metrics of the DCGM series',
);
/** `it`, or `it.skip` where promtool is missing: the check then counts as skipped, not passed. */
const itWithPromtool = promtool ? it : it.skip;

describe('InferenceMetrics', () => {
  /** The exposition the first test rendered, for the promtool check after it. */
  let rendered: string | undefined;

  it('exposes each GPU of each worker under DCGM names, with pool, worker, device and accelerator labels', async () => {
    const manager = new GpuManager({ logger: mockServices.logger.mock() });
    const metrics = new InferenceMetrics(manager);
    const identity: WorkerIdentity = {
      id: 'gpu-node-7-4711-ab12',
      pool: 'cuda-primary',
      transport: 'nats',
      host: 'gpu-node-7',
      pid: 4711,
      startedAt: new Date().toISOString(),
    };
    manager.heartbeat(
      connection(identity),
      await heartbeatFrom('nvidia-smi-h100x2.csv', identity),
    );

    const { body, contentType } = await metrics.render();
    expect(contentType).toMatch(/^text\/plain/);
    const labels =
      'pool="cuda-primary",worker="gpu-node-7-4711-ab12",device="0",accelerator="cuda",gpu="0",uuid="GPU-3f1c2a7e-5b9d-4c1e-8a2f-6d0b9e4c7a11",model_name="NVIDIA H100 80GB HBM3",hostname="gpu-node-7"';
    // The fixture's first GPU: 37 % busy, 10240 of 81559 MiB used, 41 °C, 118.52 W.
    expect(body).toContain(`DCGM_FI_DEV_GPU_UTIL{${labels}} 37`);
    expect(body).toContain(`DCGM_FI_DEV_FB_USED{${labels}} 10240`);
    expect(body).toContain(`DCGM_FI_DEV_FB_FREE{${labels}} 71319`);
    expect(body).toContain(`DCGM_FI_DEV_GPU_TEMP{${labels}} 41`);
    expect(body).toContain(`DCGM_FI_DEV_POWER_USAGE{${labels}} 118.52`);
    expect(body).toMatch(/DCGM_FI_DEV_GPU_UTIL\{[^}]*device="1"[^}]*\} 0/);
    expect(body).toMatch(
      /gekko_worker_up\{pool="cuda-primary",worker="gpu-node-7-4711-ab12",accelerator="cuda",transport="nats"\} 1/,
    );

    // A worker that leaves takes its series with it.
    manager.gone(identity.id, 'test');
    expect((await metrics.render()).body).not.toContain(
      'DCGM_FI_DEV_GPU_UTIL{',
    );

    rendered = body;
  });

  itWithPromtool('renders series that promtool check metrics accepts', () => {
    expect(rendered).toBeDefined();
    // promtool reads the exposition on stdin and exits non-zero on any error or lint problem.
    execFileSync(promtool!, ['check', 'metrics'], { input: rendered });
  });
});
