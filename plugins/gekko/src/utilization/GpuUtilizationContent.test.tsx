import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import type { GpuWorkerStatus } from '@gekko/plugin-gekko-common';
import { act, screen, waitFor, within } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityGpuUtilizationContent } from '../entityContents';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import {
  cpuWorker,
  h100PoolCapacity,
  h100Worker,
  modelVersions,
  utilizationHistory,
} from '../testUtils/gpuFixtures';

const h100Pool: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: {
    name: 'h100-primary',
    namespace: 'default',
    annotations: { 'gekko.io/accelerator': 'cuda' },
  },
  spec: { type: 'gpu-pool', owner: 'group:quant' },
};

function tradingEngine(annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'trading-engine', namespace: 'default', annotations },
    spec: { type: 'service', lifecycle: 'production', owner: 'group:quant' },
  };
}

/** The GPU manager of the fixtures: two workers on h100-primary, their history and the models. */
function busyPool(
  overrides: ConstructorParameters<typeof FakeGekkoApi>[0] = {},
) {
  return new FakeGekkoApi({
    workers: [h100Worker, cpuWorker],
    capacity: [h100PoolCapacity],
    utilization: {
      '15m': utilizationHistory('15m'),
      '24h': utilizationHistory('24h'),
    },
    modelVersions,
    ...overrides,
  });
}

function renderUtilizationTab(
  gekkoApi: FakeGekkoApi,
  entity: Entity = h100Pool,
) {
  return renderTestApp({
    extensions: [createTestEntityPage({ entity }), entityGpuUtilizationContent],
    apis: [[gekkoApiRef, gekkoApi]],
  });
}

/** The text of the metadata row that `label` heads, within a card. */
function reading(card: HTMLElement, label: string): string | null | undefined {
  return within(card).getByText(label).closest('tr')?.textContent;
}

async function findWorkerCard(worker: GpuWorkerStatus) {
  return screen.findByLabelText(`Worker ${worker.id}`);
}

/** The colours of a chart's lines, in order. */
function strokesOf(chart: HTMLElement): Array<string | null> {
  return Array.from(chart.querySelectorAll('.recharts-line-curve'), line =>
    line.getAttribute('stroke'),
  );
}

/** The legend entries of a chart, in order. */
function legendOf(chart: HTMLElement): string[] {
  return Array.from(
    chart.querySelectorAll('.recharts-legend-item-text'),
    item => item.textContent ?? '',
  );
}

describe('GPU utilization tab', () => {
  beforeAll(async () => {
    // The tab loads lazily, recharts with it; load it once so that each test waits for rendering only.
    await import('./GpuUtilizationContent');
  }, 30_000);

  it('heads the page with the pool, its accelerators and its live capacity', async () => {
    renderUtilizationTab(busyPool());

    const header = await screen.findByLabelText('Live capacity');
    expect(within(header).getByText('h100-primary')).toBeInTheDocument();
    expect(within(header).getByText('NVIDIA CUDA')).toBeInTheDocument();
    expect(within(header).getByText('CPU')).toBeInTheDocument();
    const facts = Object.fromEntries(
      within(header)
        .getAllByRole('term')
        .map(term => [term.textContent, term.nextElementSibling?.textContent]),
    );
    expect(facts).toEqual({
      'Ready workers': '1 of 2',
      Devices: '2',
      Memory: '110 GiB / 159.3 GiB',
      Utilization: '87%',
      Throughput: '412.7 req/s',
      'Queued requests': '12',
    });
  });

  it('shows a CUDA worker with every reading, in units', async () => {
    renderUtilizationTab(busyPool());

    const card = await findWorkerCard(h100Worker);
    expect(within(card).getByText('7f3a9c2e')).toHaveAttribute(
      'title',
      h100Worker.id,
    );
    expect(within(card).getByText('gpu-node-a1 · NATS')).toBeInTheDocument();
    expect(within(card).getByText('ready')).toBeInTheDocument();
    expect(within(card).getByText('NVIDIA CUDA')).toBeInTheDocument();
    expect(
      within(card).getByText('2 × NVIDIA H100 80GB HBM3'),
    ).toBeInTheDocument();
    const utilization = within(card).getByRole('progressbar', {
      name: 'Utilization',
    });
    expect(utilization).toHaveAttribute('aria-valuenow', '87');
    expect(utilization).toHaveAttribute('aria-valuetext', '87%');
    const memory = within(card).getByRole('progressbar', { name: 'Memory' });
    expect(memory).toHaveAttribute('aria-valuetext', '110 GiB / 159.3 GiB');
    expect(memory).toHaveAttribute('aria-valuenow', '69');
    expect(reading(card, 'Temperature')).toBe('Temperature67 °C');
    expect(reading(card, 'Power')).toBe('Power744.6 W');
    expect(reading(card, 'Queue depth')).toBe('Queue depth12');
    expect(reading(card, 'Outstanding')).toBe('Outstanding9');
    expect(reading(card, 'Throughput')).toBe('Throughput412.7 req/s');
    expect(reading(card, 'p99 latency')).toBe('p99 latency11.4 ms');
    expect(reading(card, 'Models')).toBe(
      'Modelsprice-forecaster 3 · CUDAprice-forecaster 4 · CUDA',
    );
    expect(reading(card, 'Devices')).toBe(
      'Devices#0: 91% · 61.5 GiB / 79.6 GiB · 67 °C · 402.3 W#1: 83% · 48.5 GiB / 79.6 GiB · 61 °C · 342.3 W',
    );
    expect(within(card).queryByText('Telemetry error')).not.toBeInTheDocument();
  });

  it('says a reading is not reported rather than showing 0, and warns of a suspect worker', async () => {
    renderUtilizationTab(busyPool());

    const card = await findWorkerCard(cpuWorker);
    expect(
      within(card).getByText('portal-backend-0 · Embedded (worker thread)'),
    ).toBeInTheDocument();
    expect(reading(card, 'Temperature')).toBe('Temperaturenot reported');
    expect(reading(card, 'Power')).toBe('Powernot reported');
    expect(reading(card, 'p99 latency')).toBe('p99 latency—');
    expect(within(card).queryByText('Devices')).not.toBeInTheDocument();
    expect(within(card).getByText('suspect')).toBeInTheDocument();
    expect(within(card).getByText('Missed a heartbeat')).toBeInTheDocument();
    expect(within(card).getByText('Telemetry error')).toBeInTheDocument();
    expect(
      within(card).getByText(
        'nvidia-smi not found on PATH; reporting CPU load only',
      ),
    ).toBeInTheDocument();
    expect(
      within(card).getByRole('progressbar', { name: 'Utilization' }),
    ).toHaveAttribute('aria-valuenow', '38');
  });

  it('names CoreML on Apple Silicon as MPS, and shows no bar for an unmeasured reading', async () => {
    const m2Worker: GpuWorkerStatus = {
      ...cpuWorker,
      id: 'm2-studio-01',
      pool: 'm2-dev',
      state: 'ready',
      acceleratorKind: 'mps',
      deviceName: 'Apple M2 Ultra',
      memoryUsedBytes: undefined,
      memoryTotalBytes: undefined,
      telemetryError: undefined,
      models: [{ name: 'price-forecaster', version: '3', provider: 'coreml' }],
    };
    renderUtilizationTab(busyPool({ workers: [m2Worker], capacity: [] }), {
      ...h100Pool,
      metadata: { ...h100Pool.metadata, name: 'm2-dev' },
    });

    const card = await findWorkerCard(m2Worker);
    expect(within(card).getByText('m2-studio-01')).toBeInTheDocument();
    expect(within(card).getByText('Apple Silicon (MPS)')).toBeInTheDocument();
    expect(within(card).getByText('Apple M2 Ultra')).toBeInTheDocument();
    expect(reading(card, 'Models')).toBe(
      'Modelsprice-forecaster 3 · CoreML (MPS)',
    );
    expect(
      within(card).queryByRole('progressbar', { name: 'Memory' }),
    ).not.toBeInTheDocument();
    expect(within(card).getByText('Memory').nextSibling).toHaveTextContent(
      'not reported',
    );
  });

  it('charts the last 15 minutes per worker, with a legend and time on the axis', async () => {
    renderUtilizationTab(busyPool());

    const live = await screen.findByLabelText('Last 15 minutes');
    const utilization = await within(live).findByLabelText('Utilization');
    expect(legendOf(utilization)).toEqual(['7f3a9c2e', 'c41d0b87']);
    expect(utilization.querySelectorAll('.recharts-line-curve')).toHaveLength(
      2,
    );
    expect(
      within(utilization).getByText('Utilization (%)'),
    ).toBeInTheDocument();
    // 09:00 to 09:15 every 3 minutes, in the viewer's time zone.
    const ticks = Array.from(
      utilization.querySelectorAll(
        '.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value',
      ),
      tick => tick.textContent ?? '',
    );
    expect(ticks).toHaveLength(6);
    expect(ticks).toEqual(ticks.map(tick => tick.match(/^\d\d:\d\d$/)?.[0]));

    expect(legendOf(within(live).getByLabelText('Throughput'))).toEqual([
      '7f3a9c2e',
      'c41d0b87',
    ]);
    // The CPU worker reports no p99, so only the CUDA worker has a latency line.
    expect(legendOf(within(live).getByLabelText('p99 latency'))).toEqual([
      '7f3a9c2e',
    ]);
  });

  it('charts the last 24 hours, marking workers that have left since', async () => {
    renderUtilizationTab(busyPool());

    const day = await screen.findByLabelText('Last 24 hours');
    const utilization = await within(day).findByLabelText('Utilization');
    // Gone is known once the live workers have answered too.
    await waitFor(() =>
      expect(legendOf(utilization)).toEqual([
        '0be5d6f1 (gone)',
        '7f3a9c2e',
        'c41d0b87',
      ]),
    );
    const day24Strokes = strokesOf(utilization);
    expect(day24Strokes).toHaveLength(3);
    // A connected worker keeps its colour across the ranges, whoever has left since.
    const live = screen.getByLabelText('Last 15 minutes');
    const liveStrokes = strokesOf(within(live).getByLabelText('Utilization'));
    expect(day24Strokes.slice(1)).toEqual(liveStrokes);
    expect(new Set(day24Strokes).size).toBe(3);
  });

  it('explains an empty chart instead of drawing an empty box', async () => {
    renderUtilizationTab(busyPool({ utilization: {} }));

    const live = await screen.findByLabelText('Last 15 minutes');
    expect(
      await within(live).findByText(
        'No readings from this pool in the last 15 minutes',
      ),
    ).toBeInTheDocument();
    expect(live.querySelector('svg.recharts-surface')).toBeNull();
    const day = screen.getByLabelText('Last 24 hours');
    expect(
      await within(day).findByText(
        'No readings from this pool in the last 24 hours',
      ),
    ).toBeInTheDocument();
  });

  it("lists the pool's model versions with their share of the model's traffic", async () => {
    renderUtilizationTab(busyPool());

    const models = await screen.findByLabelText('Model versions');
    expect(
      await within(models).findByText('Model versions on this pool'),
    ).toBeInTheDocument();
    const rows = within(models)
      .getAllByRole('row')
      .map(row =>
        within(row)
          .queryAllByRole('cell')
          .slice(0, 7)
          .map(cell => cell.textContent),
      )
      .filter(cells => cells.length > 0);
    // The canary on m2-dev takes a share of price-forecaster's traffic but is not on this pool.
    expect(rows).toEqual([
      ['price-forecaster', '5', 'registered', '—', '64', 'not loaded', '—'],
      [
        'price-forecaster',
        '4',
        'deployed',
        '20%',
        '64',
        'CUDA',
        '7f3a9c2e (CUDA)',
      ],
      [
        'price-forecaster',
        '3',
        'deployed',
        '60%',
        '128',
        'CUDA, CPU',
        '7f3a9c2e (CUDA)c41d0b87 (CPU)',
      ],
    ]);
    expect(within(models).getByText('60%')).toHaveAttribute(
      'title',
      'Weight 300 of 500',
    );
  });

  it('tells how to start a worker when the pool has none', async () => {
    renderUtilizationTab(busyPool({ workers: [], capacity: [] }));

    expect(
      await screen.findByText('No worker has joined h100-primary yet'),
    ).toBeInTheDocument();
    // The snippets show once their syntax highlighter has loaded.
    await waitFor(() =>
      expect(document.querySelectorAll('pre')).toHaveLength(2),
    );
    const [command, config] = Array.from(
      document.querySelectorAll('pre'),
      pre => pre.textContent,
    );
    expect(command).toBe(
      'gekko-worker --nats nats://<nats-host>:4222 --pool h100-primary',
    );
    expect(config).toBe(
      'gekko:\n  inference:\n    embedded:\n      pool: h100-primary',
    );
    const header = screen.getByLabelText('Live capacity');
    expect(within(header).getByText('0 of 0')).toBeInTheDocument();
    // Without workers the accelerator is the one the pool entity declares.
    expect(within(header).getByText('NVIDIA CUDA')).toBeInTheDocument();
  });

  it('shows the backend error when the GPU manager cannot be reached', async () => {
    renderUtilizationTab(
      busyPool({
        gpuError: await responseError(
          503,
          'ServiceUnavailableError',
          'The GPU manager is not running',
        ),
      }),
    );

    expect(
      await screen.findByText(/Could not read the pool's workers/),
    ).toBeInTheDocument();
    expect(
      screen.getAllByText(/The GPU manager is not running/).length,
    ).toBeGreaterThanOrEqual(1);
    expect(screen.queryByLabelText('Live capacity')).not.toBeInTheDocument();
  });

  it('keeps showing the workers, with a warning, when a refresh fails', async () => {
    jest.useFakeTimers({ advanceTimers: true });
    try {
      const gekkoApi = busyPool();
      renderUtilizationTab(gekkoApi);
      expect(await findWorkerCard(h100Worker)).toBeInTheDocument();

      gekkoApi.setGpuError(
        await responseError(
          503,
          'ServiceUnavailableError',
          'The GPU manager is not running',
        ),
      );
      await act(async () => {
        await jest.advanceTimersByTimeAsync(5_000);
      });

      expect(
        await screen.findByText('Could not refresh the workers'),
      ).toBeInTheDocument();
      expect(
        screen.getByText(
          /^The GPU manager is not running\. Showing the workers as of \d\d:\d\d:\d\d\.$/,
        ),
      ).toBeInTheDocument();
      expect(
        screen.getByLabelText(`Worker ${h100Worker.id}`),
      ).toBeInTheDocument();
    } finally {
      jest.useRealTimers();
    }
  });

  it('is offered on a Component that names its GPU pool, showing that pool', async () => {
    renderUtilizationTab(
      busyPool(),
      tradingEngine({ 'gekko.io/gpu-pool': 'h100-primary' }),
    );

    const header = await screen.findByLabelText('Live capacity');
    expect(within(header).getByText('h100-primary')).toBeInTheDocument();
    expect(
      within(header).getByText(
        /GPU pool that trading-engine runs its inference on/,
      ),
    ).toBeInTheDocument();
    expect(await findWorkerCard(h100Worker)).toBeInTheDocument();
  });

  it('is not offered on a Component without a GPU pool', async () => {
    renderUtilizationTab(busyPool(), tradingEngine());

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });

  it('is not offered on Resources other than GPU pools', async () => {
    renderUtilizationTab(busyPool(), {
      ...h100Pool,
      spec: { type: 'database', owner: 'group:quant' },
    });

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });
});
