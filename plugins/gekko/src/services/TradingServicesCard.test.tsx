import { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { catalogApiMock } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import { TradingServicesCard } from './TradingServicesCard';

function component(name: string, system: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default' },
    spec: { type: 'service', lifecycle: 'production', owner: 'group:quant' },
    relations: [{ type: 'partOf', targetRef: system }],
  };
}

const gekkoSystem = 'system:default/gordon-gekko';

function renderCard(catalogApi: ReturnType<typeof catalogApiMock>) {
  return renderInTestApp(<TradingServicesCard />, {
    apis: [catalogApi],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

describe('TradingServicesCard', () => {
  it('lists the components of the Gordon Gekko system only, by name, and says which run on no GPU pool', async () => {
    renderCard(
      catalogApiMock({
        entities: [
          component('risk-engine', gekkoSystem),
          component('payroll', 'system:default/back-office'),
          component('market-data-coinbase', gekkoSystem),
          // A GPU pool belongs to the system too, but is no trading service.
          {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'Resource',
            metadata: { name: 'cpu-dr', namespace: 'default' },
            spec: { type: 'gpu-pool', owner: 'group:platform' },
            relations: [{ type: 'partOf', targetRef: gekkoSystem }],
          },
        ],
      }),
    );

    const links = await screen.findAllByRole('link', { name: /-/ });
    expect(links.map(link => link.textContent)).toEqual([
      'market-data-coinbase',
      'risk-engine',
    ]);
    const row = screen.getByRole('row', { name: /risk-engine/ });
    expect(within(row).getByText('—')).toBeInTheDocument();
  });

  it('says when the catalog has no service of the system', async () => {
    renderCard(catalogApiMock({ entities: [] }));

    expect(
      await screen.findByText(
        'No component of the gordon-gekko system is in the catalog yet.',
      ),
    ).toBeInTheDocument();
  });

  it('shows why the services are unknown when the catalog fails', async () => {
    renderCard(
      catalogApiMock.mock({
        getEntities: async () => {
          throw new Error('The catalog is not reachable');
        },
      }),
    );

    expect(
      await screen.findByText('The catalog is not reachable'),
    ).toBeInTheDocument();
  });
});
