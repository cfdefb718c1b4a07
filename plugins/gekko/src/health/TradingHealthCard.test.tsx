import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { screen, within } from '@testing-library/react';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityTradingHealthCard } from '../entityCards';
import { entityTradingHealthContent } from '../entityContents';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import {
  breachedOrderExecution,
  healthyOrderExecution,
} from '../testUtils/healthFixtures';

jest.setTimeout(30_000);

function component(annotations: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'order-execution', namespace: 'default', annotations },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/trading-ops',
    },
  };
}

const orderExecution = component({
  'gekko.io/slos': 'order-latency, availability',
});

function renderOverview(api: FakeGekkoApi, entity: Entity = orderExecution) {
  return renderTestApp({
    // The tab too, so that the card can link to it.
    extensions: [
      createTestEntityPage({ entity }),
      entityTradingHealthCard,
      entityTradingHealthContent,
    ],
    apis: [[gekkoApiRef, api]],
  });
}

async function findCard() {
  return screen.findByRole('region', { name: 'Trading health summary' });
}

describe('the Trading health card', () => {
  beforeAll(async () => {
    await import('./TradingHealthCard');
    await import('./TradingHealthContent');
  }, 30_000);

  it('sums a service in breach up: its state, each SLO in a line, the alerts firing, and a link to the tab', async () => {
    renderOverview(new FakeGekkoApi({ health: [breachedOrderExecution] }));

    const card = await findCard();
    expect(
      await within(card).findByText('5 alerts firing, 3 critical'),
    ).toBeInTheDocument();
    const overall = card.querySelector('[data-health-state]');
    expect(overall).toHaveAttribute('data-health-state', 'breach');
    const objectives = within(card).getByRole('list', { name: 'Objectives' });
    expect(
      within(objectives)
        .getAllByRole('listitem')
        .map(item => item.textContent),
    ).toEqual([
      'breachOrder execution p99 (signal to execution) · 427 ms',
      'okAvailability · 99.983 %',
    ]);
    expect(
      within(card).getByRole('link', {
        name: /Objectives, burn rates, charts, venues and alerts/,
      }),
    ).toHaveAttribute('href', '/trading-health');
  });

  it('says so when nothing fires', async () => {
    renderOverview(new FakeGekkoApi({ health: [healthyOrderExecution] }));

    const card = await findCard();
    expect(
      await within(card).findByText('No alert firing'),
    ).toBeInTheDocument();
    expect(card.querySelector('[data-health-state]')).toHaveAttribute(
      'data-health-state',
      'ok',
    );
  });

  it('shows no state, only the error, when the backend fails', async () => {
    renderOverview(
      new FakeGekkoApi({
        healthError: await responseError(
          503,
          'ServiceUnavailableError',
          'The gekko backend is starting',
        ),
      }),
    );

    const card = await findCard();
    expect(
      await within(card).findByText('The gekko backend is starting', {
        selector: 'p',
      }),
    ).toBeInTheDocument();
    expect(card.querySelector('[data-health-state]')).toBeNull();
  });

  it('is on the overview of trading services only', async () => {
    renderOverview(
      new FakeGekkoApi({ health: [healthyOrderExecution] }),
      component({}),
    );

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });
});
