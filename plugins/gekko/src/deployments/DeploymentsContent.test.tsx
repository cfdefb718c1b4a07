import { Entity } from '@backstage/catalog-model';
import { mockApis, renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalApiRef } from '@backstage/plugin-signals-react';
import { deploymentSignalChannel } from '@gekko/plugin-gekko-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityDeploymentsContent } from '../entityContents';
import {
  canaryInFlight,
  failedAnalysis,
  succeededCanary,
  versionsAfterSucceeded,
  versionsNow,
} from '../testUtils/deploymentFixtures';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';
import { FakeSignalApi } from '../testUtils/FakeSignalApi';

jest.setTimeout(30_000);

const entityRef = 'component:default/inference-gateway';

const inferenceGateway: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'inference-gateway',
    namespace: 'default',
    annotations: {
      'gekko.io/gpu-pool': 'cpu-dr',
      'gekko.io/deployment-target': 'gpu-pool',
    },
  },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:platform' },
};

const cpuPool: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Resource',
  metadata: { name: 'cpu-dr', namespace: 'default' },
  spec: { type: 'gpu-pool', owner: 'group:platform' },
};

function renderTab(options: {
  api: FakeGekkoApi;
  signals?: FakeSignalApi | null;
  rollback?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
  entity?: Entity;
}) {
  const signals =
    options.signals === null
      ? []
      : [[signalApiRef, options.signals ?? new FakeSignalApi()] as const];
  return renderTestApp({
    extensions: [
      createTestEntityPage({ entity: options.entity ?? inferenceGateway }),
      entityDeploymentsContent,
    ],
    apis: [
      [gekkoApiRef, options.api],
      mockApis.permission({
        authorize: options.rollback ?? AuthorizeResult.ALLOW,
      }),
      ...signals,
    ],
  });
}

describe('the Deployments tab', () => {
  it('shows the deployment in flight: its phase, its step, the evidence so far and its log', async () => {
    const api = new FakeGekkoApi({
      deployments: [canaryInFlight()],
      modelVersions: versionsNow,
    });
    renderTab({ api });

    const card = await screen.findByLabelText('Deployment');
    expect(within(card).getByText('Deployment in flight')).toBeInTheDocument();
    expect(within(card).getByText('canary of mlp@2')).toBeInTheDocument();
    const phases = within(card).getByRole('list', { name: 'Phases' });
    expect(
      within(phases).getByText('4. Verification').closest('li'),
    ).toHaveAttribute('aria-current', 'step');
    expect(within(phases).getByText('1. Validation ✓')).toBeInTheDocument();
    expect(
      within(card).getByText(/Step 2 of 4 · 25 % of the traffic/),
    ).toBeInTheDocument();
    expect(
      within(card).getByRole('progressbar', { name: 'Steps applied' }),
    ).toHaveAttribute('aria-valuenow', '2');
    // The analysis of step 1, as the backend measured it.
    const measured = within(card).getByRole('table', {
      name: 'Measurements of step 1',
    });
    expect(within(measured).getByText('p99 latency')).toBeInTheDocument();
    expect(within(measured).getByText('7.97 ms')).toBeInTheDocument();
    expect(within(measured).getByText('50.00 ms')).toBeInTheDocument();
    expect(
      within(card).getByRole('figure', { name: 'p99 latency per step' }),
    ).toBeInTheDocument();
    const log = within(card).getByRole('log');
    expect(
      within(log).getByText(
        'Applied step 2 of 4: shift 25 % of the traffic to the new version',
      ),
    ).toBeInTheDocument();
    // Nothing to roll back while it moves: it rolls back by itself on a failed analysis.
    expect(
      within(card).queryByRole('button', { name: /Roll back/ }),
    ).not.toBeInTheDocument();
    // What runs now: version 1 takes all the traffic, version 2 is registered.
    expect(
      screen.getByRole('img', {
        name: 'Traffic split of mlp: 1 100%',
      }),
    ).toBeInTheDocument();
  });

  it('marks a marginal step that went on, with its reason', async () => {
    const inFlight = canaryInFlight();
    const events = inFlight.events!.map(e => {
      if (e.kind !== 'analysis') return e;
      const evidence = e.evidence as any;
      return {
        ...e,
        evidence: {
          ...evidence,
          reason:
            'marginal: score 50 is below the pass 100 (latency against the baseline (median ratio, Mann-Whitney U) 1.300 is above 1.2); going on, the last step must pass',
          evidence: {
            ...evidence.evidence,
            score: 50,
            classification: 'marginal',
          },
        },
      };
    });
    const api = new FakeGekkoApi({
      deployments: [{ ...inFlight, events }],
      modelVersions: versionsNow,
    });
    renderTab({ api });
    const card = await screen.findByLabelText('Deployment');
    expect(within(card).getByText('marginal')).toBeInTheDocument();
    expect(within(card).getByText(/score 50 \/ 100/)).toBeInTheDocument();
    expect(
      within(card).getByText(/going on, the last step must pass/),
    ).toBeInTheDocument();
  });

  it('follows the deployment live: a signal from the backend brings the next step at once', async () => {
    const api = new FakeGekkoApi({
      deployments: [canaryInFlight()],
      modelVersions: versionsNow,
    });
    const signals = new FakeSignalApi();
    renderTab({ api, signals });
    await screen.findByText(/Step 2 of 4 · 25 %/);
    expect(signals.channels()).toContain(deploymentSignalChannel(entityRef));

    // The backend applies step 3; the page learns it from the push, not from a poll (30 s away).
    const next = api.putDeployment(canaryInFlight(8));
    signals.publish(deploymentSignalChannel(entityRef), {
      id: next.id,
      entityRef,
      state: next.state,
      step: next.step,
      kind: 'step',
      message: 'Applied step 3 of 4',
      time: next.updatedAt,
    });
    expect(await screen.findByText(/Step 3 of 4 · 50 %/)).toBeInTheDocument();
    expect(
      screen.getByRole('table', { name: 'Measurements of step 2' }),
    ).toBeInTheDocument();

    // It succeeds: the card says so and offers the rollback.
    api.putDeployment(succeededCanary);
    signals.publish(deploymentSignalChannel(entityRef), {
      id: succeededCanary.id,
      entityRef,
      state: 'succeeded',
      step: 3,
      kind: 'analysis',
      message: 'Analysis of step 4 passed: deployment succeeded',
      time: succeededCanary.updatedAt,
    });
    expect(await screen.findByText('Latest deployment')).toBeInTheDocument();
    expect(
      within(screen.getByLabelText('Deployment')).getByRole('button', {
        name: 'Roll back mlp@2',
      }),
    ).toBeEnabled();
  });

  it('shows why a canary was rolled back by itself, with the measurement that failed', async () => {
    const api = new FakeGekkoApi({
      deployments: [failedAnalysis],
      modelVersions: versionsNow,
    });
    renderTab({ api });

    const card = await screen.findByLabelText('Deployment');
    expect(within(card).getByText('rolled back')).toBeInTheDocument();
    expect(
      within(card).getByText('Why it was rolled back'),
    ).toBeInTheDocument();
    expect(
      within(card).getByText(
        'Analysis of step 1 failed: p99 latency 21.375 is above 0.01',
      ),
    ).toBeInTheDocument();
    const measured = within(card).getByRole('table', {
      name: 'Measurements of step 1',
    });
    const p99 = within(measured).getByText('p99 latency').closest('tr')!;
    expect(within(p99).getByText('failed')).toBeInTheDocument();
    expect(within(p99).getByText('0.01 ms')).toBeInTheDocument();
    expect(within(card).getByText('Rollback ✓')).toBeInTheDocument();
    // It stopped in verification: the phases before it done, none after.
    const phases = within(card).getByRole('list', { name: 'Phases' });
    expect(within(phases).getByText('3. Activation ✓')).toBeInTheDocument();
    expect(within(phases).getByText('4. Verification ✗')).toBeInTheDocument();
  });

  it('rolls a succeeded deployment back after a confirmation that shows what is restored', async () => {
    const api = new FakeGekkoApi({
      deployments: [succeededCanary, failedAnalysis],
      modelVersions: versionsAfterSucceeded,
    });
    renderTab({ api });

    const card = await screen.findByLabelText('Deployment');
    expect(
      screen.getByRole('img', { name: 'Traffic split of mlp: 2 100%' }),
    ).toBeInTheDocument();
    // The newest deployment (shown in the card) was rolled back by itself; the succeeded one
    // before it is rolled back from the history.
    expect(within(card).getByText('rolled back')).toBeInTheDocument();
    await userEvent.click(
      screen.getByRole('button', { name: 'Roll back mlp@2' }),
    );
    const dialog = await screen.findByRole('dialog');
    const restored = within(dialog).getByRole('table', {
      name: 'What the rollback restores',
    });
    const rows = within(restored)
      .getAllByRole('row')
      .slice(1)
      .map(r => r.textContent);
    expect(rows).toEqual(['1deployed100cpu-dr', '2registered0cpu-dr']);
    expect(api.rollbacks).toEqual([]);

    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Roll back now' }),
    );
    await waitFor(() => expect(api.rollbacks).toEqual([succeededCanary.id]));
    await waitFor(() =>
      expect(screen.queryByRole('dialog')).not.toBeInTheDocument(),
    );
    // The history now shows it rolled back, with no button left to press.
    await waitFor(() =>
      expect(
        screen.queryByRole('button', { name: 'Roll back mlp@2' }),
      ).not.toBeInTheDocument(),
    );
  });

  it('says what went wrong when the backend refuses the rollback, and keeps the dialog open', async () => {
    const api = new FakeGekkoApi({
      deployments: [succeededCanary],
      modelVersions: versionsAfterSucceeded,
    });
    api.rollbackDeployment = async () => {
      throw await responseError(
        403,
        'NotAllowedError',
        'You may not roll back component:default/inference-gateway',
      );
    };
    renderTab({ api });
    const card = await screen.findByLabelText('Deployment');
    await userEvent.click(
      within(card).getByRole('button', { name: 'Roll back mlp@2' }),
    );
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Roll back now' }),
    );
    expect(
      await within(dialog).findByText(/The rollback was refused/),
    ).toBeInTheDocument();
    expect(
      within(dialog).getByText(/You may not roll back/),
    ).toBeInTheDocument();
  });

  it('lists the history, and shows any deployment of it in full', async () => {
    const api = new FakeGekkoApi({
      deployments: [succeededCanary, failedAnalysis],
      modelVersions: versionsAfterSucceeded,
    });
    renderTab({ api });
    const card = await screen.findByLabelText('Deployment');
    // The newest first: the rolled-back canary started after the succeeded one.
    expect(within(card).getByText('rolled back')).toBeInTheDocument();

    await userEvent.click(
      screen.getByRole('button', {
        name: `Show deployment ${succeededCanary.id}`,
      }),
    );
    expect(
      await within(screen.getByLabelText('Deployment')).findByText(
        'Analysis of step 4 passed: deployment succeeded',
      ),
    ).toBeInTheDocument();
  });

  it('polls when the app has no signals, and says so', async () => {
    const api = new FakeGekkoApi({
      deployments: [canaryInFlight()],
      modelVersions: versionsNow,
    });
    renderTab({ api, signals: null });
    expect(
      await screen.findByText(/Live updates are off in this app/),
    ).toBeInTheDocument();
  });

  it('on a GPU pool, shows the deployments of the models the pool serves', async () => {
    const api = new FakeGekkoApi({
      deployments: [failedAnalysis],
      modelVersions: versionsNow,
    });
    renderTab({ api, entity: cpuPool });
    const card = await screen.findByLabelText('Deployment');
    expect(within(card).getByText('canary of mlp@2')).toBeInTheDocument();
  });

  it('invites a first deployment when there is none', async () => {
    const api = new FakeGekkoApi({
      deployments: [],
      modelVersions: versionsNow,
    });
    renderTab({ api });
    expect(
      await screen.findByText('Nothing was deployed through the portal yet'),
    ).toBeInTheDocument();
    expect(
      screen.getAllByRole('link', { name: 'Deploy a model version' })[0],
    ).toHaveAttribute('href', '/create/templates/default/deploy-model-version');
  });

  it('says the deployments could not be read, and why', async () => {
    const api = new FakeGekkoApi({ modelVersions: versionsNow });
    api.listDeployments = async () => {
      throw await responseError(
        503,
        'ServiceUnavailableError',
        'database down',
      );
    };
    renderTab({ api });
    expect(
      await screen.findByText(/Could not read the deployments/),
    ).toBeInTheDocument();
  });
});
