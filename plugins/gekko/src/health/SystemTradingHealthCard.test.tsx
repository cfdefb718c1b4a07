import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import { entitySystemTradingHealthCard } from '../entityCards';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import { rollUpDuringBreach, rollUpHealthy } from '../testUtils/healthFixtures';

jest.setTimeout(30_000);

function system(name: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'System',
    metadata: { name, namespace: 'default' },
    spec: { owner: 'group:default/trading-ops' },
  };
}

function renderSystem(
  api: FakeGekkoApi,
  entity: Entity = system('gordon-gekko'),
) {
  return renderTestApp({
    extensions: [
      createTestEntityPage({ entity }),
      entitySystemTradingHealthCard,
    ],
    apis: [[gekkoApiRef, api]],
    mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
  });
}

describe('the System roll-up card', () => {
  beforeAll(async () => {
    await import('./SystemTradingHealthCard');
  }, 30_000);

  it('rolls the System up: the worst state on top, each service with its SLOs and alerts firing, linked to its tab', async () => {
    renderSystem(new FakeGekkoApi({ serviceSummaries: rollUpDuringBreach }));

    const table = await screen.findByRole('table', {
      name: 'Trading services',
    });
    expect(
      screen.getByText('4 services: 1 breach, 1 unknown, 2 ok'),
    ).toBeInTheDocument();
    const worst = screen.getByText('Worst:').parentElement!;
    expect(worst.querySelector('[data-health-state]')).toHaveAttribute(
      'data-health-state',
      'breach',
    );
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map(row => Array.from(row.querySelectorAll('td'), td => td.textContent));
    expect(rows).toEqual([
      [
        'Market data (OANDA)',
        'unknown',
        'unknownMarket data updates per second',
        '0',
      ],
      [
        'Order execution',
        'breach',
        'breachOrder execution p99 (signal to execution)okAvailability',
        '5',
      ],
      ['Risk engine', 'ok', 'okRisk calculation p99', '0'],
      ['Trading engine', 'ok', 'okAPI p99okAvailability', '0'],
    ]);
    expect(
      within(table).getByRole('link', { name: 'Order execution' }),
    ).toHaveAttribute(
      'href',
      '/catalog/default/component/order-execution/trading-health',
    );
  });

  it('says all is well when every service is', async () => {
    renderSystem(
      new FakeGekkoApi({
        serviceSummaries: rollUpHealthy.filter(s => s.state === 'ok'),
      }),
    );

    expect(await screen.findByText('3 services: 3 ok')).toBeInTheDocument();
    expect(
      screen
        .getByText('Worst:')
        .parentElement!.querySelector('[data-health-state]'),
    ).toHaveAttribute('data-health-state', 'ok');
  });

  it('asks for the services of its own System only', async () => {
    renderSystem(
      new FakeGekkoApi({ serviceSummaries: rollUpDuringBreach }),
      system('back-office'),
    );

    expect(
      await screen.findByText(/No Component of this System has a/),
    ).toBeInTheDocument();
  });

  it('shows the error, and no state, when the backend fails', async () => {
    renderSystem(
      new FakeGekkoApi({
        healthError: await responseError(
          503,
          'ServiceUnavailableError',
          'The gekko backend is starting',
        ),
      }),
    );

    expect(
      await screen.findByText('The gekko backend is starting', {
        selector: 'p',
      }),
    ).toBeInTheDocument();
    expect(screen.queryByText('Worst:')).not.toBeInTheDocument();
  });

  it('is on Systems only', async () => {
    renderSystem(new FakeGekkoApi({ serviceSummaries: rollUpDuringBreach }), {
      ...system('gordon-gekko'),
      kind: 'Component',
    });

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });
});
