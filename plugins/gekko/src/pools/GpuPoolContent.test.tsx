import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import {
  catalogApiMock,
  createTestEntityPage,
} from '@backstage/plugin-catalog-react/testUtils';
import type { GpuPool } from '@gekko/plugin-gekko-common';
import { screen, within } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import {
  entityGpuPoolContent,
  entityGpuUtilizationContent,
} from '../entityContents';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import { h100PoolCapacity } from '../testUtils/gpuFixtures';

const h100Pool: GpuPool = {
  name: 'h100-primary',
  title: 'H100 primary',
  description: 'Inference for the trading models',
  accelerator: 'cuda',
  region: 'primary',
  capacity: { devices: 8, memoryGiB: 640 },
  owner: 'group:default/quant',
  nodeSelector: { zone: 'a', gpu: 'h100' },
  source: 'config',
  createdAt: '2025-11-01T08:00:00.000Z',
  updatedAt: '2025-11-20T08:00:00.000Z',
};

function poolEntity(name: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: { name, namespace: 'default' },
    spec: { type: 'gpu-pool', owner: 'group:quant' },
    relations: [
      { type: 'dependencyOf', targetRef: 'component:default/trading-engine' },
      { type: 'ownedBy', targetRef: 'group:default/quant' },
    ],
  };
}

const tradingEngine: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'trading-engine',
    namespace: 'default',
    title: 'Trading engine',
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:quant' },
  relations: [{ type: 'ownedBy', targetRef: 'group:default/quant' }],
};

function renderPoolTab(
  entity: Entity,
  pools: GpuPool[],
  options: {
    gekkoApi?: FakeGekkoApi;
    /** Installs the GPU utilization tab too, as the app does. */
    withUtilizationTab?: boolean;
  } = {},
) {
  return renderTestApp({
    extensions: [
      createTestEntityPage({ entity }),
      entityGpuPoolContent,
      ...(options.withUtilizationTab ? [entityGpuUtilizationContent] : []),
    ],
    apis: [
      [gekkoApiRef, options.gekkoApi ?? new FakeGekkoApi({ pools })],
      catalogApiMock({ entities: [entity, tradingEngine] }),
    ],
  });
}

/** The text of the metadata row that `label` heads, within a card. */
function reading(card: HTMLElement, label: string): string | null | undefined {
  return within(card).getByText(label).closest('tr')?.textContent;
}

/** The card whose title is `title`. */
async function findCard(title: string): Promise<HTMLElement> {
  const card = (await screen.findByText(title)).closest<HTMLElement>(
    '.MuiCard-root',
  );
  if (!card) {
    throw new Error(`No card titled ${title}`);
  }
  return card;
}

describe('GPU pool tab', () => {
  it('shows the live pool: accelerator, region, capacity, owner and nodes', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool]);

    expect(await screen.findByText('H100 primary')).toBeInTheDocument();
    expect(screen.getByText('NVIDIA CUDA')).toBeInTheDocument();
    expect(screen.getByText('primary')).toBeInTheDocument();
    expect(screen.getByText('8 devices, 640 GiB memory')).toBeInTheDocument();
    expect(
      screen.getByText('Inference for the trading models'),
    ).toBeInTheDocument();
    expect(
      screen.getByText('Configuration (gekko.gpuPools)'),
    ).toBeInTheDocument();
    const nodes = screen.getByRole('grid', { name: 'Node selector' });
    expect(within(nodes).getByText('gpu=h100')).toBeInTheDocument();
    expect(within(nodes).getByText('zone=a')).toBeInTheDocument();
  });

  it('names Apple Silicon pools the way people say it', async () => {
    renderPoolTab(poolEntity('m2-dev'), [
      { ...h100Pool, name: 'm2-dev', title: 'M2 dev', accelerator: 'mps' },
    ]);

    expect(await screen.findByText('Apple Silicon (MPS)')).toBeInTheDocument();
  });

  it('lists the services that depend on the pool', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool]);

    expect(
      await screen.findByText('Services on this pool'),
    ).toBeInTheDocument();
    const row = await screen.findByRole('row', { name: /trading-engine/ });
    expect(row).toHaveTextContent('Trading engine');
    expect(row).toHaveTextContent('quant');
    expect(row).toHaveTextContent('production');
    expect(
      within(row).getByRole('link', { name: 'trading-engine' }),
    ).toBeInTheDocument();
  });

  it('warns when the catalog has a pool that the gekko backend does not know', async () => {
    renderPoolTab(poolEntity('a100-legacy'), [h100Pool]);

    expect(
      await screen.findByText(
        'This pool is in the catalog but unknown to the gekko backend',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/no GPU pool named "a100-legacy"/),
    ).toBeInTheDocument();
  });

  it('is offered on GPU pool Resources only', async () => {
    renderPoolTab(
      {
        ...poolEntity('postgres'),
        spec: { type: 'database', owner: 'group:quant' },
      },
      [h100Pool],
    );

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });

  it('shows the live capacity of the pool next to its configured capacity', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool], {
      gekkoApi: new FakeGekkoApi({
        pools: [h100Pool],
        capacity: [h100PoolCapacity],
      }),
    });

    const live = await findCard('Live capacity');
    expect(await within(live).findByText('Ready workers')).toBeInTheDocument();
    expect(reading(live, 'Ready workers')).toBe('Ready workers1 of 2');
    expect(reading(live, 'Devices')).toBe('Devices2');
    expect(reading(live, 'Memory')).toBe('Memory110 GiB / 159.3 GiB');
    expect(reading(live, 'Utilization')).toBe('Utilization87%');
    expect(reading(live, 'Throughput')).toBe('Throughput412.7 req/s');
    expect(screen.getByText('8 devices, 640 GiB memory')).toBeInTheDocument();
  });

  it('says when no worker has joined the pool', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool]);

    const live = await findCard('Live capacity');
    expect(
      await within(live).findByText(/No worker has joined this pool/),
    ).toBeInTheDocument();
    expect(reading(live, 'Ready workers')).toBe('Ready workers0 of 0');
    expect(reading(live, 'Memory')).toBe('Memory—');
  });

  it('points to the GPU utilization tab for the details', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool], {
      withUtilizationTab: true,
    });

    const live = await findCard('Live capacity');
    expect(
      await within(live).findByRole('link', {
        name: /GPU utilization, per worker and over time/,
      }),
    ).toHaveAttribute('href', '/gpu-utilization');
  });

  it('shows why the live capacity is unknown when the backend fails', async () => {
    renderPoolTab(poolEntity('h100-primary'), [h100Pool], {
      gekkoApi: new FakeGekkoApi({
        pools: [h100Pool],
        gpuError: await responseError(
          503,
          'ServiceUnavailableError',
          'The GPU manager is not running',
        ),
      }),
    });

    const live = await findCard('Live capacity');
    expect(
      await within(live).findByText('The GPU manager is not running'),
    ).toBeInTheDocument();
    expect(within(live).queryByText('Ready workers')).not.toBeInTheDocument();
  });
});
