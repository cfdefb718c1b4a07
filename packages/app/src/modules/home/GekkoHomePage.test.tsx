import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import homePlugin from '@backstage/plugin-home/alpha';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { gekkoApiRef } from '@gekko/plugin-gekko';
import type { GpuPool } from '@gekko/plugin-gekko-common';
import { screen, within } from '@testing-library/react';
import { homeModule } from './homeModule';

const gekkoSystem = 'system:default/gordon-gekko';

function tradingService(
  name: string,
  metadata: Partial<Entity['metadata']>,
  spec: { lifecycle: string; owner: string },
  system = gekkoSystem,
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', ...metadata },
    spec: { type: 'service', system, ...spec },
    relations: [
      { type: 'partOf', targetRef: system },
      { type: 'ownedBy', targetRef: spec.owner },
    ],
  };
}

const entities: Entity[] = [
  tradingService(
    'trading-engine',
    {
      title: 'Autonomous Trading Engine',
      description: 'Turns forecasts into orders',
      annotations: { 'gekko.io/gpu-pool': 'mps-primary' },
    },
    { lifecycle: 'production', owner: 'group:default/trading-ops' },
  ),
  tradingService(
    'risk-engine',
    { title: 'Risk Engine' },
    { lifecycle: 'experimental', owner: 'group:default/risk' },
  ),
  tradingService(
    'payroll',
    { title: 'Payroll' },
    { lifecycle: 'production', owner: 'group:default/finance' },
    'system:default/back-office',
  ),
];

const cudaPool: GpuPool = {
  name: 'cuda-primary',
  title: 'NVIDIA CUDA — primary',
  description: "H100 nodes serving the inference gateway's models",
  accelerator: 'cuda',
  region: 'primary',
  capacity: { devices: 8, memoryGiB: 640 },
  owner: 'group:default/platform',
  nodeSelector: {},
  source: 'config',
  createdAt: '2025-11-01T08:00:00.000Z',
  updatedAt: '2025-11-01T08:00:00.000Z',
};

function renderHomePage(pools: GpuPool[]) {
  return renderTestApp({
    features: [homePlugin, homeModule],
    initialRouteEntries: ['/home'],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
    apis: [
      catalogApiMock({ entities }),
      [gekkoApiRef, { listPools: async () => pools }],
    ],
  });
}

/** The card headed `title`. */
function card(title: string): HTMLElement {
  const heading = screen.getByRole('heading', { name: title });
  const found = heading.closest<HTMLElement>('.bui-Card');
  if (!found) {
    throw new Error(`No card headed ${title}`);
  }
  return found;
}

describe('Home page', () => {
  it('is the Gekko home, not the Backstage welcome', async () => {
    renderHomePage([cudaPool]);

    expect(
      await screen.findByRole('heading', { name: 'Gekko portal' }),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Welcome to Backstage/)).not.toBeInTheDocument();
  });

  it("lists the Gordon Gekko system's trading services, each linking to its page", async () => {
    renderHomePage([cudaPool]);

    const engine = await screen.findByRole('row', { name: /trading-engine/ });
    expect(engine).toHaveTextContent('Autonomous Trading Engine');
    expect(engine).toHaveTextContent('Turns forecasts into orders');
    expect(engine).toHaveTextContent('trading-ops');
    expect(engine).toHaveTextContent('production');
    expect(
      within(engine).getByRole('link', { name: 'trading-engine' }),
    ).toHaveAttribute('href', '/catalog/default/component/trading-engine');
    expect(
      within(engine).getByRole('link', { name: 'mps-primary' }),
    ).toHaveAttribute('href', '/catalog/default/resource/mps-primary');

    const services = card('Trading services');
    expect(within(services).getByText('Risk Engine')).toBeInTheDocument();
    expect(within(services).getByText('experimental')).toBeInTheDocument();
    expect(within(services).queryByText('payroll')).not.toBeInTheDocument();
  });

  it('lists the GPU pools with accelerator, region and capacity, each linking to its page', async () => {
    renderHomePage([cudaPool]);

    const pool = await screen.findByRole('row', { name: /cuda-primary/ });
    expect(pool).toHaveTextContent('NVIDIA CUDA — primary');
    expect(pool).toHaveTextContent('NVIDIA CUDA');
    expect(pool).toHaveTextContent('primary');
    expect(pool).toHaveTextContent('8 devices, 640 GiB memory');
    expect(pool).toHaveTextContent('platform');
    expect(
      within(pool).getByRole('link', { name: 'cuda-primary' }),
    ).toHaveAttribute('href', '/catalog/default/resource/cuda-primary');
  });

  it('says that trading health and deployments arrive with later capabilities', async () => {
    renderHomePage([]);

    await screen.findByRole('heading', { name: 'Trading health' });
    for (const title of ['Trading health', 'Deployments']) {
      expect(
        within(card(title)).getByText(/^Not available yet/),
      ).toHaveTextContent(/arrives? with a later capability of the portal/);
    }
    expect(await screen.findByText(/No GPU pool yet/)).toBeInTheDocument();
  });
});
