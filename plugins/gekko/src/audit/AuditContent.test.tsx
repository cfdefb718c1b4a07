import { Entity } from '@backstage/catalog-model';
import { renderTestApp } from '@backstage/frontend-test-utils';
import { createTestEntityPage } from '@backstage/plugin-catalog-react/testUtils';
import type { AuditRecord } from '@gekko/plugin-gekko-common';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { gekkoApiRef } from '../api/GekkoApi';
import { entityAuditContent } from '../entityContents';
import { FakeGekkoApi, responseError } from '../testUtils/FakeGekkoApi';

const engine: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'trading-engine', namespace: 'default' },
  spec: { type: 'service', lifecycle: 'production', owner: 'group:quant' },
};
const engineRef = 'component:default/trading-engine';

function record(
  seq: number,
  overrides: Partial<AuditRecord> = {},
): AuditRecord {
  return {
    seq,
    time: new Date(Date.UTC(2025, 10, 20, 9, seq)).toISOString(),
    actor: 'user:default/gordon',
    action: 'deployment.promote',
    target: engineRef,
    outcome: 'success',
    requestId: `req-${seq}`,
    details: { environment: 'production', replicas: seq },
    prevHash: `${seq - 1}`.padStart(64, 'a'),
    hash: `${seq}`.padStart(64, 'b'),
    ...overrides,
  };
}

function renderAuditTab(gekkoApi: FakeGekkoApi, entity: Entity = engine) {
  return renderTestApp({
    extensions: [createTestEntityPage({ entity }), entityAuditContent],
    apis: [[gekkoApiRef, gekkoApi]],
  });
}

describe('Audit tab', () => {
  it("lists the entity's records, newest first, with actor, action and outcome", async () => {
    renderAuditTab(
      new FakeGekkoApi({
        records: [
          record(1, { actor: 'user:default/bud', action: 'pool.create' }),
          record(2, { outcome: 'denied', action: 'pool.delete' }),
          record(3, { target: 'component:default/other-service' }),
        ],
      }),
    );

    const rows = await screen.findAllByRole('row');
    const body = rows.filter(row => within(row).queryByText(/^pool\./));
    expect(body).toHaveLength(2);
    expect(body[0]).toHaveTextContent('pool.delete');
    expect(body[0]).toHaveTextContent('denied');
    expect(body[0]).toHaveTextContent('user:default/gordon');
    expect(body[1]).toHaveTextContent('pool.create');
    expect(body[1]).toHaveTextContent('success');
    expect(body[1]).toHaveTextContent('user:default/bud');
    expect(screen.queryByText('deployment.promote')).not.toBeInTheDocument();
  });

  it('shows that the chain is verified, with its head hash', async () => {
    const headHash = 'c'.repeat(64);
    renderAuditTab(
      new FakeGekkoApi({
        records: [record(1)],
        verify: {
          valid: true,
          checked: 42,
          headHash,
          firstBrokenSeq: null,
          reason: null,
          checkpoints: {
            enabled: true,
            checked: 4,
            lastSigned: {
              seq: 40,
              time: '2026-12-02T09:30:00.000Z',
              keyId: '0123456789abcdef',
            },
            unsignedRecords: 2,
          },
          archive: { segments: 2, records: 20 },
        },
      }),
    );

    expect(
      await screen.findByText('Chain verified · 42 records'),
    ).toBeInTheDocument();
    expect(screen.getByTitle(headHash)).toHaveTextContent('cccccccccccc…');
    expect(screen.getByText(/Signed up to record 40 at/)).toHaveTextContent(
      /0123456789abcdef\), 2 newer records not signed yet/,
    );
    expect(
      screen.getByText('20 records archived in 2 files'),
    ).toBeInTheDocument();
  });

  it('shows where the chain is broken and why', async () => {
    renderAuditTab(
      new FakeGekkoApi({
        records: [record(1)],
        verify: {
          valid: false,
          checked: 17,
          headHash: 'd'.repeat(64),
          firstBrokenSeq: 17,
          reason: 'hash does not match the record',
          segment: 'gekko-audit-000000000011-000000000020.jsonl.gz',
          checkpoints: {
            enabled: false,
            checked: 0,
            lastSigned: null,
            unsignedRecords: 16,
          },
        },
      }),
    );

    expect(
      await screen.findByText(
        'Chain broken at seq 17: hash does not match the record',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        /In archive file gekko-audit-000000000011-000000000020.jsonl.gz/,
      ),
    ).toBeInTheDocument();
    expect(screen.getByText(/Checkpoints are off/)).toBeInTheDocument();
  });

  it('expands a record to show its details, request id and hashes', async () => {
    const seven = record(7, {
      details: { pool: 'h100-primary', replicas: 3 },
      requestId: 'req-abc-123',
    });
    renderAuditTab(new FakeGekkoApi({ records: [seven] }));

    expect(screen.queryByText('req-abc-123')).not.toBeInTheDocument();
    await userEvent.click(await screen.findByText('deployment.promote'));

    expect(await screen.findByText('req-abc-123')).toBeInTheDocument();
    expect(screen.getByText(/"pool": "h100-primary"/)).toHaveTextContent(
      JSON.stringify(seven.details, null, 2),
      { normalizeWhitespace: false },
    );
    expect(screen.getByTitle(seven.hash)).toHaveTextContent(
      `${seven.hash.slice(0, 12)}…`,
    );
    expect(screen.getByTitle(seven.prevHash)).toBeInTheDocument();
  });

  it('explains the missing permission instead of showing a raw 403', async () => {
    renderAuditTab(
      new FakeGekkoApi({
        auditError: await responseError(
          403,
          'NotAllowedError',
          'Not allowed to read the audit trail',
        ),
      }),
    );

    expect(
      await screen.findByText(
        'You need the gekko.audit.read permission to see the audit trail',
      ),
    ).toBeInTheDocument();
    expect(screen.queryByText(/Request failed/)).not.toBeInTheDocument();
    expect(screen.queryByText(/Chain verified/)).not.toBeInTheDocument();
  });

  it('says what will appear here when the entity has no records yet', async () => {
    renderAuditTab(new FakeGekkoApi({ records: [] }));

    expect(
      await screen.findByText('No audit records for this entity yet'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(/Every change made to this entity through the portal/),
    ).toBeInTheDocument();
  });

  it('loads older records with the cursor of the last page', async () => {
    const gekkoApi = new FakeGekkoApi({
      pageSize: 2,
      records: [1, 2, 3, 4, 5].map(seq =>
        record(seq, { action: `step.s${seq}` }),
      ),
    });
    renderAuditTab(gekkoApi);

    expect(await screen.findByText('step.s5')).toBeInTheDocument();
    expect(screen.getByText('step.s4')).toBeInTheDocument();
    expect(screen.queryByText('step.s3')).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Load older' }));

    expect(await screen.findByText('step.s3')).toBeInTheDocument();
    expect(screen.getByText('step.s5')).toBeInTheDocument();
    expect(gekkoApi.auditQueries.map(q => q.cursor)).toEqual([undefined, '4']);

    await userEvent.click(screen.getByRole('button', { name: 'Load older' }));

    expect(await screen.findByText('step.s1')).toBeInTheDocument();
    expect(
      screen.queryByRole('button', { name: 'Load older' }),
    ).not.toBeInTheDocument();
  });

  it('filters the records by outcome', async () => {
    renderAuditTab(
      new FakeGekkoApi({
        records: [
          record(1, { action: 'pool.create' }),
          record(2, { action: 'pool.delete', outcome: 'failure' }),
        ],
      }),
    );
    expect(await screen.findByText('pool.create')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: /All outcomes/ }));
    await userEvent.click(
      await screen.findByRole('option', { name: 'failure' }),
    );

    expect(await screen.findByText('pool.delete')).toBeInTheDocument();
    expect(screen.queryByText('pool.create')).not.toBeInTheDocument();
  });

  it('is offered on Components, Resources and Systems only', async () => {
    renderAuditTab(new FakeGekkoApi(), {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Group',
      metadata: { name: 'quant' },
      spec: { type: 'team', children: [] },
    });

    expect(await screen.findByTestId('empty-entity-page')).toBeInTheDocument();
  });
});
