/*
 * The Gekko portal end to end, in a real Chromium: the real backend (SQLite files in a temporary
 * folder) serving the built front end; audit records and a GPU pool created through the API; the
 * Audit and GPU pool entity tabs checked in the browser; predictions sent to the shipped model on
 * the backend's embedded workers, and the GPU utilization tab of their pool watched updating live.
 * Screenshots go under ./screenshots.
 *
 * Skips (with a printed reason) when no Chromium is found, unless CI sets GEKKO_REQUIRE_E2E=1.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Browser, Locator, Page, chromium } from 'playwright-core';
import {
  EMBEDDED_WORKERS,
  INFERENCE_MODEL,
  INFERENCE_POOL,
  INFERENCE_WINDOW,
  Portal,
  ensureAppBuilt,
  repoRoot,
  findChromium,
  isE2ERequired,
  log,
  sleep,
  StopWaiting,
  startPortal,
  waitFor,
} from './index';

const chromiumPath = findChromium();
const required = isE2ERequired();
if (!chromiumPath) {
  const message =
    'no Chromium found (set GEKKO_CHROMIUM, or install one: Debian `apt-get install chromium`)';
  if (required) {
    console.error(`FAILING: ${message}, and CI requires the end-to-end test`);
  } else {
    console.warn(
      `SKIPPED: ${message}; the browser end-to-end test of the portal did not run`,
    );
  }
}
const maybeIt = chromiumPath || required ? it : it.skip;

const screenshotsDir = path.resolve(__dirname, '..', 'screenshots');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether `locator` becomes visible within `timeoutMs`. */
async function appears(locator: Locator, timeoutMs: number): Promise<boolean> {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Signs in as the guest when the app shows its sign-in page; does nothing otherwise. */
async function signInIfAsked(page: Page): Promise<void> {
  const enter = page.getByRole('button', { name: /^enter$/i });
  if (await appears(enter, 3000)) {
    log('sign-in page: entering as guest');
    await enter.first().click();
    await enter
      .first()
      .waitFor({ state: 'hidden', timeout: 30_000 })
      .catch(() => undefined);
  }
}

/**
 * Opens `url` and runs `check` (click a tab, wait for texts; it throws when something is missing),
 * reloading and starting over until it passes: the catalog ingests entities, and relates them, a
 * few seconds after the fact, and the development backend restarts when a source file changes.
 */
async function checkPage(
  portal: Portal,
  page: Page,
  url: string,
  what: string,
  timeoutMs: number,
  check: (page: Page) => Promise<void>,
): Promise<void> {
  let attempt = 0;
  let lastError = '';
  await waitFor(
    what,
    async () => {
      attempt += 1;
      if (attempt > 1) {
        log(`${what}: not yet (${lastError}), reloading (attempt ${attempt})`);
      }
      await portal.waitUntilReady(180_000);
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      await signInIfAsked(page);
      try {
        await check(page);
      } catch (error) {
        lastError = String((error as Error).message ?? error).split('\n')[0];
        throw error;
      }
      return true;
    },
    { timeoutMs, intervalMs: 2000 },
  );
}

/** Waits until `locator` is visible; the error names `what` was missing. */
async function expectVisible(
  locator: Locator,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  if (!(await appears(locator, timeoutMs))) {
    throw new Error(`${what} not shown`);
  }
}

/** Waits until `locator` is in the page, shown or not (an SVG line of one point has no size). */
async function expectAttached(
  locator: Locator,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  try {
    await locator.first().waitFor({ state: 'attached', timeout: timeoutMs });
  } catch {
    throw new Error(`${what} not in the page`);
  }
}

/** The entity page tab named `name` (a tab or a link, depending on the version of the page). */
function entityTab(page: Page, name: string): Locator {
  const exact = new RegExp(`^${name}$`, 'i');
  return page
    .getByRole('tab', { name: exact })
    .or(page.getByRole('link', { name: exact }));
}

/** Clicks the entity page tab named `name`. */
async function openTab(page: Page, name: string): Promise<void> {
  const tab = entityTab(page, name);
  await expectVisible(tab, `the "${name}" tab`);
  await tab.first().click();
}

/**
 * Screenshots the whole page into ./screenshots: the window made as tall as the page, then a plain
 * screenshot, rather than Chromium's full-page capture (which leaves the 100vh sidebar short, and
 * once in a while drew the charts at a width they had only during the capture). `atSize` runs
 * with the window at that size, just before the picture: to check the layout it shows.
 */
async function screenshot(
  page: Page,
  file: string,
  atSize?: () => Promise<void>,
): Promise<string> {
  fs.mkdirSync(screenshotsDir, { recursive: true });
  const target = path.join(screenshotsDir, file);
  const viewport = page.viewportSize();
  try {
    if (viewport) {
      const height = await page.evaluate(
        () => document.documentElement.scrollHeight,
      );
      if (height > viewport.height) {
        await page.setViewportSize({
          width: viewport.width,
          height: Math.min(height, 10_000),
        });
      }
    }
    await atSize?.();
    await page.screenshot({ path: target });
  } finally {
    if (viewport) await page.setViewportSize(viewport);
  }
  log(`screenshot: ${path.relative(process.cwd(), target)}`);
  return target;
}

/** The predict route of the shipped model, on the portal's backend. */
const predictPath = `/api/gekko/inference/models/${INFERENCE_MODEL}/predict`;

/** The ids of the backend's embedded workers: `embedded-cpu-dr-1`, `embedded-cpu-dr-2`. */
const embeddedWorkerIds = Array.from(
  { length: EMBEDDED_WORKERS },
  (_, i) => `embedded-${INFERENCE_POOL}-${i + 1}`,
);

/** A window of one-minute closes around 100, varied by `seed`, for the price model. */
function priceWindow(seed: number): number[] {
  return Array.from({ length: INFERENCE_WINDOW }, (_, i) =>
    Number((100 + 0.02 * i + Math.sin((i + seed) / 7)).toFixed(4)),
  );
}

/** Sends one prediction of the shipped model; the status and the raw body. */
async function predict(
  portal: Portal,
  seed: number,
): Promise<{ status: number; body: string }> {
  const res = await portal.api(predictPath, {
    method: 'POST',
    body: JSON.stringify({ inputs: [priceWindow(seed)] }),
  });
  return { status: res.status, body: await res.text() };
}

/** Predictions sent one after another, `intervalMs` apart, until stopped: a light, steady load. */
function startBackgroundLoad(portal: Portal, intervalMs: number) {
  const counts = { ok: 0, failed: 0, lastError: '' };
  let stopped = false;
  const loop = (async () => {
    for (let seed = 10_000; !stopped; seed++) {
      try {
        const { status, body } = await predict(portal, seed);
        if (status === 200) {
          counts.ok += 1;
        } else {
          counts.failed += 1;
          counts.lastError = `HTTP ${status}: ${body.slice(0, 300)}`;
        }
      } catch (error) {
        counts.failed += 1;
        counts.lastError = String(error);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    counts,
    stop: async () => {
      stopped = true;
      await loop;
      return counts;
    },
  };
}

/** The chart captioned `caption` (Utilization, Throughput, p99 latency) on a history card. */
function chartOf(card: Locator, caption: string): Locator {
  return card
    .locator('figure')
    .filter({ has: card.page().locator('figcaption', { hasText: caption }) });
}

/** How many points each worker's line on a chart has: the vertices of its SVG path. */
async function linePoints(chart: Locator): Promise<number[]> {
  return chart
    .locator('path.recharts-line-curve')
    .evaluateAll(paths =>
      paths.map(p => (p.getAttribute('d') ?? '').match(/[ML]/g)?.length ?? 0),
    );
}

/**
 * How many points a chart draws: the vertices of its lines, and its dots (Recharts draws no line
 * through a single point, but a dot where the chart has one row).
 */
async function chartPoints(chart: Locator): Promise<number> {
  const vertices = (await linePoints(chart)).reduce((a, b) => a + b, 0);
  return vertices + (await chart.locator('.recharts-line-dot').count());
}

/** The layout problems of a history card once its charts have had time to fit their columns. */
async function settledLayoutProblems(card: Locator): Promise<string[]> {
  try {
    return await waitFor(
      'the charts to fit their columns',
      async () => {
        const problems = await chartLayoutProblems(card);
        return problems.length ? undefined : problems;
      },
      { timeoutMs: 10_000, intervalMs: 500 },
    );
  } catch {
    return chartLayoutProblems(card);
  }
}

/**
 * What is wrong with the layout of the charts on a history card: a chart wider than its figure, a
 * figure past the card's edge, or figures over one another ([] when nothing).
 */
async function chartLayoutProblems(card: Locator): Promise<string[]> {
  return card.evaluate(section => {
    const problems: string[] = [];
    const cardBox = section.getBoundingClientRect();
    const figures = Array.from(section.querySelectorAll('figure'));
    const nameOf = (figure: Element) =>
      figure.querySelector('figcaption')?.textContent ?? 'a chart';
    figures.forEach((figure, i) => {
      const box = figure.getBoundingClientRect();
      // The chart itself (the legend's icons are SVGs too).
      const chart = figure.querySelector('.recharts-wrapper');
      if (chart) {
        const chartBox = chart.getBoundingClientRect();
        if (chartBox.left < box.left - 1 || chartBox.right > box.right + 1) {
          problems.push(
            `${nameOf(figure)}: a ${Math.round(
              chartBox.width,
            )} px chart in a ${Math.round(box.width)} px figure`,
          );
        }
      }
      if (box.left < cardBox.left - 1 || box.right > cardBox.right + 1) {
        problems.push(`${nameOf(figure)}: past the edge of the card`);
      }
      for (const other of figures.slice(i + 1)) {
        const o = other.getBoundingClientRect();
        if (
          box.left < o.right - 1 &&
          o.left < box.right - 1 &&
          box.top < o.bottom - 1 &&
          o.top < box.bottom - 1
        ) {
          problems.push(`${nameOf(figure)} overlaps ${nameOf(other)}`);
        }
      }
    });
    return problems;
  });
}

/** The legend of a chart: the worker labels, sorted. */
async function legendOf(chart: Locator): Promise<string[]> {
  return (
    await chart.locator('.recharts-legend-item-text').allInnerTexts()
  ).sort();
}

/** The figure labelled `label` of a row of facts (a `<dl>`), as the live capacity header shows. */
async function factValue(scope: Locator, label: string): Promise<string> {
  const fact = scope
    .locator('dl > div')
    .filter({ has: scope.page().locator('dt', { hasText: label }) });
  return (await fact.first().locator('dd').innerText()).trim();
}

/** The value of the row named `key` of a structured metadata table (or '' when there is none). */
async function metadataValue(scope: Locator, key: string): Promise<string> {
  const row = scope
    .locator('tr')
    .filter({ has: scope.page().getByText(key, { exact: true }) });
  return (await row.first().locator('td').last().innerText()).trim();
}

describe('Gekko portal, end to end in Chromium', () => {
  const runId = randomBytes(4).toString('hex');
  const poolName = `e2e-${runId}`;
  /** The backend that every test of the file shares (one start saves minutes). */
  let portalUnderTest: Portal | undefined;
  let browser: Browser | undefined;
  /** Keeps the backend's log and data for a look after a failure. */
  let failed = false;

  beforeAll(async () => {
    if (!chromiumPath) return;
    ensureAppBuilt();
    portalUnderTest = await startPortal({ readinessTimeoutMs: 180_000 });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: CHROMIUM_ARGS,
    });
    log(`Chromium ${browser.version()} (${chromiumPath})`);
  }, 10 * 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await portalUnderTest?.stop();
    if (portalUnderTest && !failed) portalUnderTest.removeFiles();
  }, 60_000);

  /**
   * Runs `check` on a new page of the browser; when it fails, takes a screenshot (`failure-<name>`)
   * and prints the browser's errors and the backend's output, and keeps the backend's files.
   */
  async function inBrowser(
    name: string,
    check: (page: Page, portal: Portal) => Promise<void>,
  ): Promise<void> {
    if (!chromiumPath) {
      throw new Error(
        'No Chromium found, and CI requires the end-to-end test (CI and GEKKO_REQUIRE_E2E=1): install chromium or set GEKKO_CHROMIUM',
      );
    }
    const portal = portalUnderTest;
    if (!portal || !browser) throw new Error('the set-up did not finish');
    const context = await browser.newContext({
      viewport: { width: 1440, height: 1000 },
    });
    const page = await context.newPage();
    const browserErrors: string[] = [];
    page.on('pageerror', error => browserErrors.push(`pageerror: ${error}`));
    page.on('console', message => {
      if (message.type() === 'error') {
        browserErrors.push(`console.error: ${message.text()}`);
      }
    });

    try {
      await check(page, portal);
    } catch (error) {
      failed = true;
      await screenshot(page, `failure-${name}.png`).catch(() => undefined);
      console.error(
        [
          `End-to-end test ${name} failed at ${page.url()}: ${error}`,
          browserErrors.length
            ? `--- browser errors ---\n${browserErrors.slice(-30).join('\n')}`
            : '--- no browser errors ---',
          `--- backend output (${
            portal.logFile
          }; restarted by file changes ${portal.restarts()} times) ---\n${portal.logTail(
            120,
          )}`,
        ].join('\n'),
      );
      throw error;
    } finally {
      await context.close().catch(() => undefined);
    }
  }

  maybeIt(
    'shows audit records and GPU pools created through the API',
    () =>
      inBrowser('audit-and-pools', async (page, portal) => {
        const { baseUrl } = portal;
        // 1. Audit records and a new GPU pool, through the API with the static token.
        const events = [
          {
            action: 'deployment.promote',
            target: 'component:default/trading-engine',
            outcome: 'success',
            details: { version: '2.4.1', strategy: 'canary', e2eRun: runId },
          },
          {
            action: 'deployment.rollback',
            target: 'component:default/trading-engine',
            outcome: 'failure',
            details: {
              version: '2.4.1',
              reason: 'canary error rate',
              e2eRun: runId,
            },
          },
        ];
        for (const event of events) {
          const res = await portal.api('/api/gekko/audit/events', {
            method: 'POST',
            body: JSON.stringify(event),
          });
          const body = await res.text();
          expect({ status: res.status, body }).toEqual({
            status: 201,
            body: expect.any(String),
          });
          const record = JSON.parse(body);
          expect(record).toMatchObject({
            action: event.action,
            target: 'component:default/trading-engine',
            outcome: event.outcome,
          });
          // The static token's subject, as the audit trail names the caller.
          expect(record.actor).toMatch(/e2e-tests$/);
        }
        const poolRes = await portal.api('/api/gekko/pools', {
          method: 'POST',
          body: JSON.stringify({
            name: poolName,
            title: 'E2E pool',
            accelerator: 'cuda',
            region: 'secondary',
            capacity: { devices: 2, memoryGiB: 160 },
            owner: 'group:default/platform',
            nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-L4' },
          }),
        });
        const poolBody = await poolRes.text();
        expect({ status: poolRes.status, body: poolBody }).toEqual({
          status: 201,
          body: expect.any(String),
        });
        expect(JSON.parse(poolBody)).toMatchObject({
          name: poolName,
          accelerator: 'cuda',
          region: 'secondary',
          source: 'api',
        });
        log(`created 2 audit records and pool ${poolName} (run ${runId})`);

        // 2. Sign in (the guest sign-in page, when the app shows one).
        await portal.waitUntilReady(180_000);
        await page.goto(`${baseUrl}/`, { waitUntil: 'domcontentloaded' });
        await signInIfAsked(page);

        // 3. The trading engine's Audit tab: both records, and the verified hash chain.
        let chainText: string | null = null;
        await checkPage(
          portal,
          page,
          `${baseUrl}/catalog/default/component/trading-engine`,
          'the Audit tab of trading-engine',
          120_000,
          async p => {
            await expectVisible(
              p.getByText('Autonomous Trading Engine'),
              'the trading-engine entity page',
            );
            await openTab(p, 'Audit');
            await expectVisible(
              p.getByText('deployment.promote', { exact: true }),
              'the deployment.promote record',
            );
            await expectVisible(
              p.getByText('deployment.rollback', { exact: true }),
              'the deployment.rollback record',
            );
            const chain = p.getByText(/^Chain (verified|broken)/);
            await expectVisible(chain, 'the audit chain status');
            chainText = await chain.first().textContent();
          },
        );
        expect(chainText).toContain('verified');
        await expectVisible(
          page.getByText(/Signed up to record \d+/),
          'the signed checkpoint under the chain status',
        );
        await screenshot(page, 'trading-engine-audit.png');

        // The export verifies offline with the public key the portal generated, and nothing else.
        const exported = await portal.api('/api/gekko/audit/export');
        expect(exported.status).toBe(200);
        const exportFile = path.join(portal.tmpDir, 'audit-export.jsonl');
        fs.writeFileSync(exportFile, await exported.text());
        const verifyBin = path.join(
          repoRoot,
          'plugins/gekko-backend/bin/gekko-audit-verify',
        );
        const publicKey = path.join(portal.tmpDir, 'audit-signing-key.pub.pem');
        const offline = spawnSync(
          process.execPath,
          [verifyBin, '--public-key', publicKey, exportFile],
          { encoding: 'utf8' },
        );
        expect(offline.stdout).toMatch(
          /chain intact: \d+ records, head [0-9a-f]{64}, signed up to record \d+/,
        );
        expect(offline.status).toBe(0);

        // 4. The new pool's GPU pool tab (the catalog module emits it on the pool event).
        await checkPage(
          portal,
          page,
          `${baseUrl}/catalog/default/resource/${poolName}`,
          `the GPU pool tab of ${poolName}`,
          90_000,
          async p => {
            await openTab(p, 'GPU pool');
            await expectVisible(
              p.getByText(`GPU pool ${poolName}`),
              `the card of pool ${poolName}`,
            );
            await expectVisible(
              p.getByText('NVIDIA CUDA', { exact: true }),
              'the NVIDIA CUDA accelerator badge',
            );
            await expectVisible(
              p.getByText('secondary', { exact: true }),
              'the region secondary',
            );
          },
        );
        await screenshot(page, 'gpu-pool.png');

        // 5. cuda-primary lists the inference gateway among its services (dependencyOf).
        await checkPage(
          portal,
          page,
          `${baseUrl}/catalog/default/resource/cuda-primary`,
          'inference-gateway among the services of cuda-primary',
          120_000,
          async p => {
            await openTab(p, 'GPU pool');
            await expectVisible(
              p.getByText('GPU pool cuda-primary'),
              'the card of pool cuda-primary',
            );
            await expectVisible(
              p.getByText('inference-gateway', { exact: true }),
              'inference-gateway among the services on the pool',
            );
          },
        );
        await screenshot(page, 'gpu-pool-cuda-primary.png');

        // 6. The home page: the system's trading services and GPU pools at a glance, the new pool too.
        await checkPage(
          portal,
          page,
          `${baseUrl}/home`,
          'the Gekko home page',
          90_000,
          async p => {
            await expectVisible(
              p.getByRole('heading', { name: 'Gekko portal' }),
              'the Gekko home heading',
            );
            await expectVisible(
              p.getByRole('link', { name: 'trading-engine', exact: true }),
              'trading-engine among the trading services',
            );
            await expectVisible(
              p.getByRole('link', { name: poolName, exact: true }),
              `pool ${poolName} among the GPU pools`,
            );
            await expectVisible(
              p.getByText('Trading health', { exact: true }),
              'the place for trading health',
            );
          },
        );
        expect(await page.getByText('Welcome to Backstage').count()).toBe(0);
        await screenshot(page, 'home.png');

        // 7. The Create page offers the deployment templates.
        await checkPage(
          portal,
          page,
          `${baseUrl}/create`,
          'the deployment templates on the Create page',
          120_000,
          async p => {
            await expectVisible(
              p.getByText('Deploy a model version', { exact: true }),
              'the template Deploy a model version',
            );
            await expectVisible(
              p.getByText('Roll back a deployment', { exact: true }),
              'the template Roll back a deployment',
            );
          },
        );
        await screenshot(page, 'create.png');
      }),
    8 * 60_000,
  );

  maybeIt(
    'serves predictions on the embedded workers and shows them live on the GPU utilization tab',
    () =>
      inBrowser('gpu-utilization', async (page, portal) => {
        const { baseUrl } = portal;

        // 1. Both embedded workers joined cpu-dr with the shipped model loaded (the backend seeds
        //    and deploys it at start).
        const workers = await waitFor(
          `${EMBEDDED_WORKERS} ready workers on ${INFERENCE_POOL} serving ${INFERENCE_MODEL}`,
          async () => {
            const res = await portal.api(
              `/api/gekko/gpu/workers?pool=${INFERENCE_POOL}`,
            );
            if (!res.ok) return undefined;
            const { items } = (await res.json()) as {
              items: Array<{
                id: string;
                state: string;
                models: Array<{ name: string }>;
              }>;
            };
            const serving = items.filter(
              w =>
                w.state === 'ready' &&
                w.models.some(m => m.name === INFERENCE_MODEL),
            );
            return serving.length === EMBEDDED_WORKERS ? items : undefined;
          },
          { timeoutMs: 180_000 },
        );
        expect(workers.map(w => w.id).sort()).toEqual(embeddedWorkerIds);

        // 2. 51 predictions through the API with the static token: one checked in full, then 50,
        //    ten at a time.
        const first = await predict(portal, 0);
        expect(first).toEqual({ status: 200, body: expect.any(String) });
        const answer = JSON.parse(first.body);
        expect(answer).toMatchObject({
          model: INFERENCE_MODEL,
          version: '1',
          pool: INFERENCE_POOL,
          provider: 'cpu',
          outputs: { forecast: { shape: [1, 12] } },
        });
        expect(embeddedWorkerIds).toContain(answer.worker);
        expect(answer.outputs.forecast.data).toHaveLength(12);
        for (const value of answer.outputs.forecast.data) {
          // A forecast of closes around 100, not NaN or a blown-up number.
          expect(value).toBeGreaterThan(50);
          expect(value).toBeLessThan(150);
        }
        const servedBy = new Map<string, number>();
        for (let round = 0; round < 5; round++) {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              predict(portal, 1 + round * 10 + i),
            ),
          );
          for (const result of results) {
            expect(result).toEqual({ status: 200, body: expect.any(String) });
            const { worker, model, version } = JSON.parse(result.body);
            expect({ model, version }).toEqual({
              model: INFERENCE_MODEL,
              version: '1',
            });
            expect(embeddedWorkerIds).toContain(worker);
            servedBy.set(worker, (servedBy.get(worker) ?? 0) + 1);
          }
        }
        log(
          `predictions served, after the first: ${[...servedBy]
            .map(([worker, n]) => `${worker} ${n}`)
            .join(', ')}`,
        );

        // 3. A light load while the page is open, so that the live charts have something to show.
        const load = startBackgroundLoad(portal, 150);
        let loadCounts: typeof load.counts;
        try {
          // 4. The GPU utilization tab of cpu-dr: live capacity, a card per worker, charts, models.
          const workerCards: Record<
            string,
            { title: string; utilization: string | null; memory: string | null }
          > = {};
          let capacityReady = '';
          let livePoints: number[] = [];
          let livePointsLater: number[] = [];
          let liveGrowthSeconds = 0;
          let liveLegend: string[] = [];
          let dayPoints = 0;
          let dayLegend: string[] = [];
          let liveLayout: string[] = [];
          let dayLayout: string[] = [];
          let dayEmpty = false;
          let modelRow: string[] = [];
          const live = page.locator('section[aria-label="Last 15 minutes"]');
          const liveChart = chartOf(live, 'Utilization');
          await checkPage(
            portal,
            page,
            `${baseUrl}/catalog/default/resource/${INFERENCE_POOL}`,
            `the GPU utilization tab of ${INFERENCE_POOL}`,
            240_000,
            async p => {
              await openTab(p, 'GPU utilization');
              const header = p.locator('section[aria-label="Live capacity"]');
              await expectVisible(header, 'the live capacity header', 30_000);
              capacityReady = await factValue(header, 'Ready workers');
              for (const id of embeddedWorkerIds) {
                const card = p.locator(`section[aria-label="Worker ${id}"]`);
                await expectVisible(card, `the card of worker ${id}`);
                await expectVisible(
                  card.getByText('CPU', { exact: true }),
                  `the CPU badge of worker ${id}`,
                );
                await expectVisible(
                  card.getByText('ready', { exact: true }),
                  `the ready state of worker ${id}`,
                );
                const bar = (label: string) =>
                  card
                    .locator(`[role="progressbar"][aria-label="${label}"]`)
                    .first()
                    .getAttribute('aria-valuetext');
                workerCards[id] = {
                  title: (
                    await card.locator(`[title="${id}"]`).first().innerText()
                  ).trim(),
                  utilization: await bar('Utilization'),
                  memory: await bar('Memory'),
                };
              }
              // The live chart: a line per worker, once the first history has loaded.
              await expectAttached(
                liveChart.locator('path.recharts-line-curve'),
                'the lines of the 15-minute utilization chart',
                30_000,
              );
              livePoints = await linePoints(liveChart);
              if (livePoints.length < EMBEDDED_WORKERS) {
                throw new Error(
                  `${livePoints.length} lines on the 15-minute chart`,
                );
              }
              liveLegend = await legendOf(liveChart);
              // The 24-hour chart: the current minute from memory, or else its informative state.
              const day = p.locator('section[aria-label="Last 24 hours"]');
              const dayLine = chartOf(day, 'Utilization').locator(
                'g.recharts-line',
              );
              const dayNone = day.getByText(
                'No readings from this pool in the last 24 hours',
              );
              await expectAttached(
                dayLine.or(dayNone),
                'the 24-hour chart or its empty state',
                30_000,
              );
              dayEmpty = await dayNone.isVisible();
              if (!dayEmpty) {
                dayPoints = await chartPoints(chartOf(day, 'Utilization'));
                dayLegend = await legendOf(chartOf(day, 'Utilization'));
              }
              // The model versions table: nhits-price version 1 on this pool (versions 2 and
              // 3-slow are registered too, for the deployments test).
              const models = p.locator('section[aria-label="Model versions"]');
              const row = models
                .locator('tr')
                .filter({ has: p.getByText(INFERENCE_MODEL, { exact: true }) })
                .filter({
                  has: p.getByRole('cell', { name: '1', exact: true }),
                });
              await expectVisible(row, `the ${INFERENCE_MODEL} row`, 30_000);
              modelRow = (await row.first().locator('td').allInnerTexts()).map(
                t => t.trim(),
              );
              // The live chart moves: every worker's line gains points, without a reload (the
              // page polls every 5 s). A backend restart empties the live history: start over.
              const startedAt = Date.now();
              livePointsLater = await waitFor(
                'new points on the 15-minute chart',
                async () => {
                  const now = await linePoints(liveChart);
                  return now.length === livePoints.length &&
                    now.every((n, i) => n > livePoints[i])
                    ? now
                    : undefined;
                },
                { timeoutMs: 45_000 },
              );
              liveGrowthSeconds = Math.round((Date.now() - startedAt) / 1000);
              // The charts follow the window: wider, then back to the first width. Three charts
              // side by side on each card, each within its column and the card.
              const viewport = p.viewportSize() ?? {
                width: 1440,
                height: 1000,
              };
              const chartWidth = () =>
                liveChart
                  .locator('.recharts-wrapper')
                  .evaluate(c => c.getBoundingClientRect().width);
              const narrowWidth = await chartWidth();
              try {
                await p.setViewportSize({
                  ...viewport,
                  width: viewport.width + 480,
                });
                await waitFor(
                  'the charts to widen with the window',
                  async () =>
                    (await chartWidth()) > narrowWidth ? true : undefined,
                  { timeoutMs: 15_000, intervalMs: 250 },
                );
              } finally {
                await p.setViewportSize(viewport);
              }
              liveLayout = await settledLayoutProblems(live);
              if (!dayEmpty) dayLayout = await settledLayoutProblems(day);
            },
          );
          expect(capacityReady).toBe(
            `${EMBEDDED_WORKERS} of ${EMBEDDED_WORKERS}`,
          );
          for (const id of embeddedWorkerIds) {
            expect({ id, ...workerCards[id] }).toEqual({
              id,
              title: id,
              utilization: expect.stringMatching(/^\d{1,3}%$/),
              memory: expect.stringMatching(
                /^[\d.,]+ (B|KiB|MiB|GiB|TiB) \/ [\d.,]+ (KiB|MiB|GiB|TiB)$/,
              ),
            });
          }
          expect(liveLegend).toEqual(embeddedWorkerIds);
          expect({ live: liveLayout, day: dayLayout }).toEqual({
            live: [],
            day: [],
          });
          // Model, version, state, traffic, max batch, providers, loaded on.
          expect(modelRow.slice(0, 6)).toEqual([
            INFERENCE_MODEL,
            '1',
            'deployed',
            '100%',
            '64',
            'CPU',
          ]);
          for (const id of embeddedWorkerIds) {
            expect(modelRow[6]).toContain(`${id} (CPU)`);
          }
          if (dayEmpty) {
            log('the 24-hour chart shows its empty state');
          } else {
            // Fresh SQLite files: only this run's workers, each with a point or more.
            expect(dayLegend).toEqual(embeddedWorkerIds);
            // A point a worker at least: the minutes stored, and the current one from memory.
            expect(dayPoints).toBeGreaterThanOrEqual(EMBEDDED_WORKERS);
            log(`24-hour chart: ${dayPoints} points`);
          }

          log(
            `15-minute chart: points per line ${livePoints.join(
              ', ',
            )}, then ${livePointsLater.join(
              ', ',
            )} ${liveGrowthSeconds} s later`,
          );
          // The picture, and the layout of the charts as it shows them.
          let shotLayout: string[] = [];
          await screenshot(page, 'gpu-utilization.png', async () => {
            shotLayout = [
              ...(await settledLayoutProblems(live)),
              ...(await settledLayoutProblems(
                page.locator('section[aria-label="Last 24 hours"]'),
              )),
            ];
          });
          expect(shotLayout).toEqual([]);

          // 5. The GPU pool tab of cpu-dr: the live capacity card counts both workers as ready.
          let cardReady = '';
          await checkPage(
            portal,
            page,
            `${baseUrl}/catalog/default/resource/${INFERENCE_POOL}`,
            `the live capacity on the GPU pool tab of ${INFERENCE_POOL}`,
            120_000,
            async p => {
              await openTab(p, 'GPU pool');
              await expectVisible(
                p.getByText(`GPU pool ${INFERENCE_POOL}`),
                `the card of pool ${INFERENCE_POOL}`,
              );
              const card = p
                .locator('.MuiCard-root')
                .filter({ has: p.getByText('Live capacity', { exact: true }) });
              await expectVisible(
                card.getByText('Ready workers', { exact: true }),
                'the ready workers on the live capacity card',
                30_000,
              );
              cardReady = await metadataValue(card, 'Ready workers');
            },
          );
          expect(cardReady).toBe(`${EMBEDDED_WORKERS} of ${EMBEDDED_WORKERS}`);
          await screenshot(page, 'gpu-pool-cpu-dr.png');
        } finally {
          loadCounts = await load.stop();
          log(
            `background load: ${loadCounts.ok} predictions served, ${
              loadCounts.failed
            } failed${
              loadCounts.lastError ? ` (last: ${loadCounts.lastError})` : ''
            }`,
          );
        }
        expect(loadCounts.ok).toBeGreaterThan(0);
      }),
    8 * 60_000,
  );

  maybeIt(
    'deploys from the template and shows it live on the Deployments tab: a good canary, a bad one rolled back by itself, and a rollback by hand',
    () =>
      inBrowser('deployments', async (page, portal) => {
        const { baseUrl } = portal;
        const service = 'component:default/inference-gateway';
        const tab = `${baseUrl}/catalog/default/component/inference-gateway/deployments`;

        // The guest's own token, as the browser holds it: deployments are started by a person.
        const guest = await waitFor(
          'a guest token',
          async () => {
            const res = await fetch(
              `${baseUrl}/api/auth/guest/refresh?optional&env=development`,
              { headers: { 'X-Requested-With': 'XMLHttpRequest' } },
            );
            if (!res.ok) return undefined;
            const body = (await res.json()) as {
              backstageIdentity?: { token?: string };
            };
            return body.backstageIdentity?.token;
          },
          { timeoutMs: 60_000, intervalMs: 1000 },
        );
        const asGuest = (urlPath: string, init: RequestInit = {}) =>
          fetch(`${baseUrl}${urlPath}`, {
            ...init,
            headers: {
              Authorization: `Bearer ${guest}`,
              'Content-Type': 'application/json',
            },
          });

        /** Runs the deploy template through the scaffolder, as the Create page does. */
        async function runTemplate(version: string): Promise<string> {
          const res = await asGuest('/api/scaffolder/v2/tasks', {
            method: 'POST',
            body: JSON.stringify({
              templateRef: 'template:default/deploy-model-version',
              values: {
                entityRef: service,
                model: INFERENCE_MODEL,
                version,
                strategy: 'canary',
                steps: '10, 25, 50, 100',
                pauseSeconds: 2,
                minSamples: 20,
                maxP99Ms: 2000,
                analysisTimeoutSeconds: 90,
              },
            }),
          });
          const body = await res.text();
          if (res.status !== 201) {
            throw new Error(
              `the template did not start: HTTP ${res.status} ${body}`,
            );
          }
          return (JSON.parse(body) as { id: string }).id;
        }

        /** The newest deployment of the service, once it is in one of `states`. */
        async function deploymentIn(
          states: string[],
          version: string,
          taskId?: string,
        ) {
          return waitFor(
            `the deployment of ${INFERENCE_MODEL}@${version} to be ${states.join(
              ' or ',
            )}`,
            async () => {
              const res = await asGuest(
                `/api/gekko/deployments?entityRef=${encodeURIComponent(
                  service,
                )}`,
              );
              if (!res.ok) return undefined;
              const { items } = (await res.json()) as {
                items: Array<{
                  id: string;
                  state: string;
                  spec: { version: string };
                }>;
              };
              const newest = items.find(d => d.spec.version === version);
              if (!newest && taskId) {
                // A task that failed before it started a deployment will not start one.
                const task = await asGuest(
                  `/api/scaffolder/v2/tasks/${taskId}`,
                );
                const { status } = (await task.json()) as { status: string };
                if (status === 'failed') {
                  throw new StopWaiting(
                    `the template's task ${taskId} failed before it started a deployment of ${version}: see the backend log`,
                  );
                }
              }
              return newest && states.includes(newest.state)
                ? newest
                : undefined;
            },
            { timeoutMs: 240_000, intervalMs: 500 },
          );
        }

        // 1. A canary of the retrained version 2, from the template: followed live on the tab.
        //    Through the Create page's form, as an engineer would: the service picked from the
        //    catalog, the version typed, the pause shortened and the p99 limit loosened.
        await checkPage(
          portal,
          page,
          `${baseUrl}/create/templates/default/deploy-model-version`,
          'the form of the template Deploy a model version',
          120_000,
          async p => {
            await expectVisible(p.getByLabel('Service'), 'the service picker');
          },
        );
        const servicePicker = page.getByLabel('Service').first();
        await servicePicker.click();
        await servicePicker.fill('inference');
        await page
          .getByRole('option', { name: /inference.gateway/i })
          .first()
          .click();
        await page.getByLabel('Version').first().fill('2');
        await screenshot(page, 'deploy-template-form.png');
        await page.getByRole('button', { name: 'Next' }).click();
        const pause = page.getByLabel(/Pause after each step/).first();
        await expectVisible(pause, 'the pause of the second page');
        await pause.fill('2');
        await page.getByRole('button', { name: 'Next' }).click();
        const p99Limit = page.getByLabel(/p99 latency limit/).first();
        await expectVisible(p99Limit, 'the analysis limits of the third page');
        // This test is about the portal, not this shared machine's speed: a loose absolute limit,
        // so only the comparison with the version it replaces (a slower model) fails a canary.
        await p99Limit.fill('2000');
        await page.getByRole('button', { name: 'Review' }).click();
        await page.getByRole('button', { name: 'Create' }).click();
        await expectVisible(
          page.getByText(/Validate \(hardware, software, network\)/),
          'the task page with its steps',
          60_000,
        );
        await deploymentIn(['activating', 'verifying'], '2');
        await checkPage(
          portal,
          page,
          tab,
          'the canary in flight',
          120_000,
          async p => {
            await expectVisible(
              p.getByText('Deployment in flight', { exact: true }),
              'the deployment in flight',
            );
            await expectVisible(
              p.getByText(/^Step [1-4] of 4 · \d+ % of the traffic/),
              'the step progress',
            );
          },
        );
        // The page is not reloaded from here on: what changes arrives by itself.
        await expectVisible(
          page.getByRole('figure', { name: 'p99 latency per step' }),
          'the evidence chart of the first analysis',
          120_000,
        );
        await screenshot(page, 'deployments-canary-in-progress.png');
        await expectVisible(
          page.getByText('Latest deployment', { exact: true }),
          'the canary finished, without a reload',
          240_000,
        );
        const good = await deploymentIn(
          ['succeeded', 'rolled_back', 'failed'],
          '2',
        );
        expect(good.state).toBe('succeeded');
        await expectVisible(
          page.getByRole('img', {
            name: `Traffic split of ${INFERENCE_MODEL}: 2 100%`,
          }),
          'all the traffic on version 2',
          30_000,
        );

        // 2. The deliberately slow variant: its analysis fails and it rolls back by itself.
        const badTask = await runTemplate('3-slow');
        const bad = await deploymentIn(
          ['succeeded', 'rolled_back', 'failed'],
          '3-slow',
          badTask,
        );
        expect(bad.state).toBe('rolled_back');
        await expectVisible(
          page.getByText('Why it was rolled back', { exact: true }),
          'the reason of the automatic rollback',
          60_000,
        );
        await expectVisible(
          page.getByRole('table', { name: /^Measurements of step / }),
          'the measurements of the failed analysis',
        );
        await screenshot(page, 'deployments-rolled-back.png');

        // 3. Version 2 rolled back by hand, from the history, after the confirmation.
        await page
          .getByRole('button', { name: `Roll back ${INFERENCE_MODEL}@2` })
          .first()
          .click();
        const dialog = page.getByRole('dialog');
        await expectVisible(
          dialog.getByRole('table', { name: 'What the rollback restores' }),
          'what the rollback restores',
        );
        await screenshot(page, 'deployments-rollback-dialog.png');
        await dialog.getByRole('button', { name: 'Roll back now' }).click();
        const rolledBack = await deploymentIn(['rolled_back', 'failed'], '2');
        expect(rolledBack.state).toBe('rolled_back');
        await expectVisible(
          page.getByRole('img', {
            name: `Traffic split of ${INFERENCE_MODEL}: 1 100%`,
          }),
          'all the traffic back on version 1, without a reload',
          30_000,
        );
      }),
    12 * 60_000,
  );

  maybeIt(
    'shows trading health live: a latency spike and a lost venue turn the tab red with the page alert, a critical alert reaches the bell, and clearing the faults heals it',
    () =>
      inBrowser('trading-health', async (page, portal) => {
        const { baseUrl, simulatorUrl } = portal;
        const fault = async (service: string, kind: string, params = {}) => {
          const res = await fetch(
            `${simulatorUrl}/services/${service}/faults/${kind}`,
            {
              method: 'PUT',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(params),
            },
          );
          expect(res.status).toBe(200);
        };
        const tab = `${baseUrl}/catalog/default/component/order-execution/trading-health`;
        const overall = (p: Page, state: string) =>
          p.getByTestId('overall-state').getByText(new RegExp(`^${state}:`));

        // 1. Healthy, from the simulator the backend runs, scraped every 5 s.
        await checkPage(
          portal,
          page,
          tab,
          'order-execution judged healthy',
          180_000,
          async p => {
            await expectVisible(overall(p, 'OK'), 'the OK state', 20_000);
            await expectVisible(
              p.getByRole('region', { name: 'Venues' }).getByText('Binance.US'),
              'the venue panel',
            );
            await expectVisible(
              p
                .getByRole('region', { name: 'Service-level objectives' })
                .getByText('p99 < 100 ms'),
              'the order latency SLO',
            );
          },
        );
        await screenshot(page, 'trading-health-ok.png');

        // 2. Order latency ×5 and Binance.US gone: red without a reload, the page alert firing.
        await fault('order-execution', 'latency-spike', { factor: 5 });
        await fault('order-execution', 'venue-disconnect', {
          venue: 'binance-us',
        });
        await expectVisible(
          overall(page, 'BREACH'),
          'the breach, without a reload',
          60_000,
        );
        await expectVisible(
          page
            .getByRole('region', { name: 'Venues' })
            .getByText(/disconnected from Binance\.US/),
          'Binance.US disconnected',
          30_000,
        );
        await expectVisible(
          page
            .getByText(/^GekkoSloErrorBudgetBurn: Order execution p99/)
            .first(),
          'the page burn-rate alert of the order latency SLO',
          180_000,
        );
        await expectVisible(
          page.getByText(
            /^GekkoVenueDisconnected: order-execution lost its connection to binance-us/,
          ),
          'the venue alert, after its 30 s',
          90_000,
        );
        await screenshot(page, 'trading-health-breach.png');

        // The System's overview rolls its services up, order-execution among the breached.
        await checkPage(
          portal,
          page,
          `${baseUrl}/catalog/default/system/gordon-gekko`,
          "the System's trading health",
          120_000,
          async p => {
            const services = p.getByRole('table', { name: 'Trading services' });
            await expectVisible(
              services,
              'the roll-up of the trading services',
              20_000,
            );
            await expectVisible(
              services.getByRole('row', { name: /Order Execution.*breach/ }),
              'order-execution breached in the roll-up',
            );
          },
        );
        await screenshot(page, 'trading-health-system.png');

        // 3. A critical alert of a service the guest's group owns reaches the guest's bell.
        await fault('monitoring', 'error-burst', { ratio: 0.2 });
        await checkPage(
          portal,
          page,
          `${baseUrl}/notifications`,
          'the critical alert in the notifications',
          180_000,
          async p => {
            await expectVisible(
              p
                .getByText(
                  /FIRING: GekkoSloErrorBudgetBurn on Monitoring Manager/,
                )
                .first(),
              'the notification of the critical alert',
              10_000,
            );
          },
        );
        await screenshot(page, 'trading-health-notification.png');

        // 4. Faults cleared: the venue comes back at once.
        const cleared = await fetch(`${simulatorUrl}/faults`, {
          method: 'DELETE',
        });
        expect(cleared.status).toBe(204);
        await checkPage(
          portal,
          page,
          tab,
          'the venue back',
          60_000,
          async p => {
            await expectVisible(
              p
                .getByRole('region', { name: 'Venues' })
                .getByText(/connected, last message/)
                .first(),
              'the venues connected again',
            );
            await expectAttached(
              p
                .getByRole('region', { name: 'Recent alerts' })
                .getByText(/GekkoVenueDisconnected/),
              'the venue alert among the resolved',
            );
          },
        );
      }),
    10 * 60_000,
  );
});
