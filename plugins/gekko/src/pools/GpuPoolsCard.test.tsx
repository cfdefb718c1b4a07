import { renderInTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import type { GpuPool } from '@gekko/plugin-gekko-common';
import { screen } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import { GpuPoolsCard } from './GpuPoolsCard';

const mpsPool: GpuPool = {
  name: 'mps-primary',
  title: 'Apple Silicon (MPS) — primary',
  accelerator: 'mps',
  region: 'primary',
  capacity: { devices: 1, memoryGiB: 192 },
  owner: 'group:default/platform',
  nodeSelector: {},
  source: 'config',
  createdAt: '2025-11-01T08:00:00.000Z',
  updatedAt: '2025-11-01T08:00:00.000Z',
};
const cpuPool: GpuPool = {
  ...mpsPool,
  name: 'cpu-dr',
  title: 'CPU — disaster recovery',
  accelerator: 'cpu',
  region: 'dr',
  capacity: { devices: 0, memoryGiB: 256 },
};

function renderCard(gekkoApi: Pick<FakeGekkoApi, 'listPools'>) {
  return renderInTestApp(<GpuPoolsCard />, {
    apis: [[gekkoApiRef, gekkoApi]],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

describe('GpuPoolsCard', () => {
  it('lists every pool by name, with its accelerator, region and capacity', async () => {
    renderCard(new FakeGekkoApi({ pools: [mpsPool, cpuPool] }));

    const rows = await screen.findAllByRole('row', { name: /-(dr|primary)$/ });
    expect(rows.map(row => row.textContent)).toEqual([
      expect.stringMatching(
        /^cpu-drCPU — disaster recovery.*CPUdr0 devices, 256 GiB memory$/,
      ),
      expect.stringMatching(
        /^mps-primaryApple Silicon \(MPS\) — primary.*Apple Silicon \(MPS\)primary1 device, 192 GiB memory$/,
      ),
    ]);
  });

  it('says where pools come from when there is none', async () => {
    renderCard(new FakeGekkoApi({ pools: [] }));

    expect(await screen.findByText(/^No GPU pool yet/)).toBeInTheDocument();
  });

  it('shows why the pools are unknown when the gekko backend fails', async () => {
    const error = await responseError(
      503,
      'ServiceUnavailableError',
      'The gekko backend is starting',
    );
    renderCard({ listPools: () => Promise.reject(error) });

    expect(
      await screen.findByText('The gekko backend is starting'),
    ).toBeInTheDocument();
    expect(screen.queryByRole('row')).not.toBeInTheDocument();
  });
});
