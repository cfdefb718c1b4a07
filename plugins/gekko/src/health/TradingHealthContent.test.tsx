import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityTradingHealthContent } from '../entityContents';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import {
  breachedOrderExecution,
  healthDuringBreach,
  healthyOrderExecution,
  notATradingServiceMessage,
  recoveredOrderExecution,
  riskEngine,
  sloSeries,
  tradingEngine,
  unreachableMarketData,
} from '../testUtils/healthFixtures';

jest.setTimeout(30_000);

function tradingService(
  name: string,
  annotations: Record<string, string>,
): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: {
      type: 'service',
      lifecycle: 'production',
      owner: 'group:default/trading-ops',
      system: 'gordon-gekko',
    },
  };
}

const orderExecution = tradingService('order-execution', {
  'gekko.io/slos': 'order-latency, availability',
  'gekko.io/venues': 'coinbase, binance-us, oanda',
});
const marketDataOanda = tradingService('market-data-oanda', {
  'gekko.io/slos': 'market-data-throughput',
  'gekko.io/venues': 'oanda',
});

function renderTab(api: FakeGekkoApi, entity: Entity = orderExecution) {
  return renderTestApp({
    extensions: [createTestEntityPage({ entity }), entityTradingHealthContent],
    apis: [[gekkoApiRef, api]],
  });
}

async function findSection(name: string) {
  return screen.findByRole('region', { name });
}

/** The cells of a table's row, by the text of its first cell, as text. */
function rowOf(table: HTMLElement, first: RegExp | string): string[] {
  const row = within(table)
    .getAllByRole('row')
    .find(r => {
      const text = r.querySelector('td')?.textContent ?? '';
      return typeof first === 'string'
        ? text.startsWith(first)
        : first.test(text);
    });
  if (!row) throw new Error(`No row starting with ${first}`);
  return Array.from(row.querySelectorAll('td'), td => td.textContent ?? '');
}

/** The burn-rate cells of an SLO's row that are over their pair's threshold, as `window severity`. */
function burnRatesOver(table: HTMLElement, slo: string): string[] {
  const headers = within(table)
    .getAllByRole('columnheader')
    .map(h => h.textContent);
  const row = within(table)
    .getAllByRole('row')
    .find(r => r.querySelector('td')?.textContent?.startsWith(slo))!;
  return Array.from(row.querySelectorAll('td'))
    .map((td, i) => ({
      header: headers[i],
      over: td.querySelector('[data-over]'),
    }))
    .filter(({ over }) => over)
    .map(({ header, over }) => `${header} ${over!.getAttribute('data-over')}`);
}

/** The labels drawn in a chart: its axis title and its reference line's. */
function labelsOf(chart: HTMLElement): string[] {
  return Array.from(
    chart.querySelectorAll('.recharts-label'),
    label => label.textContent ?? '',
  );
}

describe('the Trading health tab', () => {
  beforeAll(async () => {
    // The tab loads lazily, recharts with it; load it once so that each test waits for rendering only.
    await import('./TradingHealthContent');
  }, 30_000);

  it('shows a healthy service as OK, each objective with its target, value, budget and burn rates, and its venues', async () => {
    renderTab(new FakeGekkoApi({ health: [healthyOrderExecution], sloSeries }));

    const header = await findSection('Overall health');
    expect(within(header).getByTestId('overall-state')).toHaveAttribute(
      'data-status',
      'success',
    );
    expect(within(header).getByText(/^OK:/)).toBeInTheDocument();
    expect(
      within(header).getByText(
        "the service's metrics endpoint, scraped by the portal",
      ),
    ).toBeInTheDocument();
    expect(header.querySelector('time')).toHaveAttribute(
      'dateTime',
      healthyOrderExecution.observedAt,
    );

    const slos = within(
      await findSection('Service-level objectives'),
    ).getByRole('table');
    expect(rowOf(slos, 'Order execution p99')).toEqual([
      'Order execution p99 (signal to execution)p99 < 100 ms',
      '72.7 ms',
      'ok',
      '99 %',
      '0.01×',
      '0.01×',
      '0.01×',
      '0.01×',
      '0.01×',
      '0.01×',
      '0.01×',
      'p99 72.7 ms over the last 5 min, limit 100 ms',
    ]);
    expect(rowOf(slos, 'Availability').slice(0, 4)).toEqual([
      'Availability≥ 99.9 %',
      '99.992 %',
      'ok',
      '83 %',
    ]);
    expect(
      screen.getByRole('meter', {
        name: 'Error budget left of Order execution p99 (signal to execution)',
      }),
    ).toHaveAttribute('aria-valuenow', '99');
    expect(burnRatesOver(slos, 'Order execution')).toEqual([]);

    const venues = within(await findSection('Venues')).getByRole('table');
    expect(rowOf(venues, 'Binance.US')).toEqual([
      'Binance.US',
      'REST',
      'connected',
      '0 s ago',
      'ok',
      'connected, last message 0.0 s ago',
    ]);
    expect(
      within(await findSection('Business metrics')).getByText('$24,984/s'),
    ).toBeInTheDocument();
    expect(
      within(await findSection('Active alerts')).getByText(
        'No alert is pending or firing.',
      ),
    ).toBeInTheDocument();
  });

  it('shows a breach: the critical alerts first, the burn rates over their thresholds, the overspent budget and the disconnected venue', async () => {
    renderTab(
      new FakeGekkoApi({ health: [breachedOrderExecution], sloSeries }),
    );

    const header = await findSection('Overall health');
    expect(within(header).getByTestId('overall-state')).toHaveAttribute(
      'data-status',
      'danger',
    );
    expect(within(header).getByText(/^BREACH:/)).toBeInTheDocument();

    // Critical alerts that fire are banners, above the table of the others.
    const alerts = await findSection('Active alerts');
    const banners = within(alerts)
      .getAllByText(/^Gekko\w+: /)
      .map(banner => banner.textContent);
    expect(banners).toEqual([
      'GekkoSloErrorBudgetBurn: Order execution p99 (signal to execution): the error budget burns faster than 6× over 6h and 30m',
      'GekkoVenueSilent: order-execution has had no message from binance-us for 90 s',
      'GekkoVenueDisconnected: order-execution lost its connection to binance-us',
    ]);
    const others = within(alerts).getByRole('table', {
      name: 'Other active alerts',
    });
    expect(
      within(others)
        .getAllByRole('row')
        .slice(1)
        .map(row =>
          Array.from(row.querySelectorAll('td'), td => td.textContent).slice(
            0,
            4,
          ),
        ),
    ).toEqual([
      [
        'warning',
        'firing',
        'GekkoSloErrorBudgetBurnOrder execution p99 (signal to execution): the error budget burns faster than 3× over 1d and 2h',
        'slo: order-latency · window: 1d/2h',
      ],
      [
        'warning',
        'firing',
        'GekkoSloErrorBudgetBurnOrder execution p99 (signal to execution): the error budget burns faster than 1× over 3d and 6h',
        'slo: order-latency · window: 3d/6h',
      ],
      [
        'warning',
        'pending',
        expect.stringMatching(/^GekkoLatencyAnomalyOrder execution p99/),
        'slo: order-latency',
      ],
    ]);

    const slos = within(
      await findSection('Service-level objectives'),
    ).getByRole('table');
    const latency = rowOf(slos, 'Order execution p99');
    expect(latency.slice(1, 4)).toEqual([
      '427 ms',
      'breach',
      '-783 % (overspent)',
    ]);
    expect(latency[latency.length - 1]).toBe(
      'p99 427 ms over the last 5 min, limit 100 ms; the error budget burns 8.8× over 6h and 8.8× over 30m (alert at 6×)',
    );
    expect(
      screen.getByRole('meter', {
        name: 'Error budget left of Order execution p99 (signal to execution)',
      }),
    ).toHaveAttribute('aria-valuenow', '0');
    // 1h burns 8.8×, under its pair's 14.4×; 6h is over 6× (page) before 1× (ticket).
    expect(burnRatesOver(slos, 'Order execution')).toEqual([
      'Burn 5m page',
      'Burn 30m page',
      'Burn 2h ticket',
      'Burn 6h page',
      'Burn 1d ticket',
      'Burn 3d ticket',
    ]);
    expect(burnRatesOver(slos, 'Availability')).toEqual([]);

    const venues = within(await findSection('Venues')).getByRole('table');
    expect(rowOf(venues, 'Binance.US')).toEqual([
      'Binance.US',
      'REST',
      'disconnected',
      '90 s ago',
      'breach',
      'disconnected from Binance.US (REST)',
    ]);
    expect(rowOf(venues, 'Coinbase')[4]).toBe('ok');
  });

  it('says the health is unknown, never OK, with the backend’s own words for what to fix', async () => {
    renderTab(
      new FakeGekkoApi({ health: healthDuringBreach, sloSeries }),
      marketDataOanda,
    );

    const header = await findSection('Overall health');
    expect(within(header).getByTestId('overall-state')).toHaveAttribute(
      'data-status',
      'info',
    );
    expect(within(header).getByText(/^UNKNOWN:/)).toBeInTheDocument();
    expect(within(header).queryByTestId('status-ok')).not.toBeInTheDocument();
    expect(within(header).getByTestId('status-aborted')).toBeInTheDocument();
    const problems = within(header).getByRole('region', {
      name: 'Problems reading the figures',
    });
    expect(problems).toHaveTextContent(unreachableMarketData.errors[0]);
    expect(unreachableMarketData.errors[0]).toMatch(
      /could not be reached .*check that the service runs and that gekko.io\/metrics-url is right/,
    );
    expect(within(header).getByText('never')).toBeInTheDocument();

    const slos = within(
      await findSection('Service-level objectives'),
    ).getByRole('table');
    expect(rowOf(slos, 'Market data updates per second')).toEqual([
      'Market data updates per second≥ 10,000 updates/s',
      'not reported',
      'unknown',
      'not reported',
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
      '—',
      'no scrape yet',
    ]);
    const venues = within(await findSection('Venues')).getByRole('table');
    expect(rowOf(venues, 'OANDA')).toEqual([
      'OANDA',
      'FIX',
      'not reported',
      'not reported',
      'unknown',
      'the service has not been scraped recently',
    ]);
    expect(
      screen.queryByRole('region', { name: 'Business metrics' }),
    ).not.toBeInTheDocument();
    expect(
      await screen.findByText(
        'No data in the last hour: the service has not been scraped with this indicator yet.',
      ),
    ).toBeInTheDocument();
  });

  it('shows the business metrics a service reports: risk exposure against its limit, P&L and model accuracy', async () => {
    const api = new FakeGekkoApi({ health: healthDuringBreach, sloSeries });
    const { unmount } = renderTab(
      api,
      tradingService('risk-engine', { 'gekko.io/slos': 'risk-latency' }),
    );

    const risk = await findSection('Business metrics');
    const exposure = within(risk).getByRole('progressbar', {
      name: 'Risk exposure',
    });
    expect(exposure).toHaveAttribute('aria-valuenow', '58');
    expect(exposure).toHaveAttribute(
      'aria-valuetext',
      '$5.8M of its $10M limit (58%)',
    );
    expect(riskEngine.business.riskExposureLimitUsd).toBe(10_000_000);
    unmount();

    renderTab(
      api,
      tradingService('trading-engine', {
        'gekko.io/slos': 'api-latency, availability',
      }),
    );
    const trading = await findSection('Business metrics');
    const facts = Object.fromEntries(
      within(trading)
        .getAllByRole('term')
        .map(term => [term.textContent, term.nextElementSibling?.textContent]),
    );
    expect(facts).toEqual({
      'Trading volume': '$25,196/s',
      'P&L today': '+$6,491',
      'Model accuracy': '57.4 %',
    });
    expect(tradingEngine.business.pnlUsd).toBeGreaterThan(0);
  });

  it('lists the alerts that resolved, with when they fired and resolved', async () => {
    renderTab(
      new FakeGekkoApi({ health: [recoveredOrderExecution], sloSeries }),
    );

    const recent = within(await findSection('Recent alerts')).getByRole(
      'table',
      { name: 'Resolved alerts' },
    );
    const rows = within(recent).getAllByRole('row').slice(1);
    expect(rows.map(row => row.querySelector('td + td')?.textContent)).toEqual([
      expect.stringMatching(/^GekkoLatencyAnomaly/),
      'GekkoVenueSilentorder-execution has had no message from binance-us for 90 s',
      'GekkoVenueDisconnectedorder-execution lost its connection to binance-us',
    ]);
    const disconnected = rows[2];
    expect(
      Array.from(disconnected.querySelectorAll('time'), t =>
        t.getAttribute('dateTime'),
      ),
    ).toEqual(['2026-12-02T08:15:35.000Z', '2026-12-02T08:16:35.000Z']);
    // Still firing: the 6h/30m burn, a banner among the active alerts.
    expect(
      within(await findSection('Active alerts')).getByText(
        /^GekkoSloErrorBudgetBurn: .* over 6h and 30m$/,
      ),
    ).toBeInTheDocument();
  });

  it('charts each indicator over the last hour with its objective as a line, and over the last day on request', async () => {
    const api = new FakeGekkoApi({
      health: [breachedOrderExecution],
      sloSeries,
    });
    renderTab(api);

    const latency = await screen.findByRole('figure', {
      name: 'Order execution p99 (signal to execution), last hour',
    });
    await waitFor(() =>
      expect(latency.querySelector('.recharts-line-curve')).not.toBeNull(),
    );
    expect(labelsOf(latency)).toContain('limit 100 ms');
    // The line is drawn at 100 ms on the chart's own scale, read from two of its Y ticks.
    const ticks = Array.from(
      latency.querySelectorAll(
        '.recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value',
      ),
      tick => ({
        value: Number(tick.textContent),
        y: Number(tick.getAttribute('y')),
      }),
    );
    const [a, b] = [ticks[0], ticks[ticks.length - 1]];
    const expectedY =
      a.y + ((100 - a.value) * (b.y - a.y)) / (b.value - a.value);
    const lineY = Number(
      latency
        .querySelector('.recharts-reference-line-line')!
        .getAttribute('y1'),
    );
    expect(lineY).toBeCloseTo(expectedY, 0);

    const availability = screen.getByRole('figure', {
      name: 'Availability, last hour',
    });
    await waitFor(() =>
      expect(labelsOf(availability)).toContain('objective 99.9 %'),
    );
    expect(api.seriesQueries).toEqual(
      expect.arrayContaining([
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          range: '1h',
          step: '1m',
        },
      ]),
    );

    await userEvent.click(screen.getByRole('radio', { name: 'Last day' }));

    expect(
      await screen.findByRole('figure', {
        name: 'Order execution p99 (signal to execution), last day',
      }),
    ).toBeInTheDocument();
    expect(api.seriesQueries).toEqual(
      expect.arrayContaining([
        {
          entityRef: 'component:default/order-execution',
          slo: 'order-latency',
          range: '1d',
          step: '15m',
        },
      ]),
    );
  });

  it('explains how to add the gekko.io/slos annotation when the backend judges no such service', async () => {
    renderTab(
      new FakeGekkoApi({
        healthError: await responseError(
          404,
          'NotFoundError',
          notATradingServiceMessage,
        ),
      }),
    );

    expect(
      await screen.findByText("This service's trading health is not judged"),
    ).toBeInTheDocument();
    expect(screen.getByText(notATradingServiceMessage)).toBeInTheDocument();
    // The example shows once its syntax highlighter has loaded.
    await waitFor(() => expect(document.querySelector('pre')).not.toBeNull());
    expect(document.querySelector('pre')?.textContent).toBe(
      [
        'metadata:',
        '  annotations:',
        '    gekko.io/slos: order-latency<80ms, availability>=99.95%',
        '    # optional: the venues it trades on',
        '    gekko.io/venues: coinbase, binance-us, oanda',
      ].join('\n'),
    );
  });

  it('says what went wrong and what to do when the backend does not answer', async () => {
    renderTab(
      new FakeGekkoApi({
        healthError: await responseError(
          503,
          'ServiceUnavailableError',
          'The gekko backend is starting',
        ),
      }),
    );

    expect(
      await screen.findByText(
        /Could not read the trading health: check that the portal's backend runs; this page asks again every 5 seconds/,
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText('The gekko backend is starting', { selector: 'p' }),
    ).toBeInTheDocument();
    expect(
      screen.queryByRole('region', { name: 'Overall health' }),
    ).not.toBeInTheDocument();
  });

  it('refreshes every 5 seconds in place, and keeps what it shows, with a warning, while a refresh fails', async () => {
    jest.useFakeTimers({ advanceTimers: true });
    try {
      const api = new FakeGekkoApi({
        health: [breachedOrderExecution],
        sloSeries,
      });
      renderTab(api);
      const slos = within(
        await findSection('Service-level objectives'),
      ).getByRole('table');
      expect(rowOf(slos, 'Order execution p99')[1]).toBe('427 ms');

      api.putHealth(recoveredOrderExecution);
      await act(async () => {
        await jest.advanceTimersByTimeAsync(5_000);
      });
      // The same table, updated: nothing was unmounted or replaced by a spinner.
      expect(slos).toBeInTheDocument();
      expect(rowOf(slos, 'Order execution p99')[1]).toBe('73 ms');

      api.setHealthError(
        await responseError(
          503,
          'ServiceUnavailableError',
          'Scrapes are paused',
        ),
      );
      await act(async () => {
        await jest.advanceTimersByTimeAsync(5_000);
      });
      expect(
        await screen.findByText('Could not refresh the trading health'),
      ).toBeInTheDocument();
      expect(
        screen.getByText(
          /^Scrapes are paused\. Showing the trading health as of/,
        ),
      ).toBeInTheDocument();
      expect(slos).toBeInTheDocument();
      expect(rowOf(slos, 'Order execution p99')[1]).toBe('73 ms');
    } finally {
      jest.useRealTimers();
    }
  });
});
