// `stepwise dashboard` as a child process against the sandbox and the real controller, driven in a real
// headless Chromium (Debian's, through playwright-core): the page shows a rollback with its reason, and its
// promote button passes a manual gate.
import { existsSync, mkdirSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APP,
  IMAGE,
  prometheusInstalled,
  startE2E,
  until,
  type E2E,
  type RunningCli,
} from '../e2e/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SCREENSHOTS = new URL('../../docs/images/', import.meta.url).pathname;

describe.skipIf(!prometheusInstalled || !existsSync(CHROMIUM))('stepwise dashboard in a browser', () => {
  let e2e: E2E;
  let dashboard: RunningCli;
  let url: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    e2e = await startE2E({
      analysis: {
        interval: '1s',
        stepDuration: '3s',
        minRequests: 10,
        thresholds: { maxErrorRate: 0.01, maxP99LatencyMs: 500 },
      },
      steps: [{ weight: 20, pause: true }, { weight: 60 }],
      podReadyDelayMs: 200,
    });
    await e2e.adopted();
    dashboard = e2e.cliRunning(['dashboard', '--address', '127.0.0.1:0']);
    url = await until(
      'the dashboard to print its URL',
      () => /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(dashboard.lines().join('\n'))?.[1],
      20_000,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await e2e?.close();
  });

  it('lists the Rollout with its phase, weight and stable image', async () => {
    await page.goto(url);
    const row = page.locator(`tr[data-rollout="${e2e.namespace}/${APP}"]`);
    await row.locator('[data-phase="Healthy"]').waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain(`${IMAGE}:1.0.0`);
    expect(await row.textContent()).toContain('0%');
  }, 30_000);

  it('serves the page under a strict CSP and refuses a command without its token or from another site', async () => {
    const pageResponse = await fetch(url);
    expect(pageResponse.headers.get('content-security-policy')).toMatch(
      /default-src 'none'; script-src 'self'/,
    );
    const abort = `${url}api/rollouts/${e2e.namespace}/${APP}/abort`;
    const before = (await e2e.status()).lastCommand;
    const noToken = await fetch(abort, { method: 'POST' });
    expect(noToken.status).toBe(403);
    const token = /name="stepwise-token" content="([0-9a-f]+)"/.exec(await pageResponse.text())?.[1] ?? '';
    const otherSite = await fetch(abort, {
      method: 'POST',
      headers: { 'x-stepwise-token': token, origin: 'https://evil.example' },
    });
    expect(otherSite.status).toBe(403);
    expect((await e2e.status()).lastCommand).toEqual(before);
    expect((await e2e.status()).phase).toBe('Healthy');
  }, 30_000);

  it('passes a manual gate when the promote button is pressed and confirmed', async () => {
    await e2e.release(`${IMAGE}:1.1.0`);
    await page.goto(`${url}rollouts/${e2e.namespace}/${APP}`);
    await page.locator('#phase [data-phase="Paused"]').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-paused.png`, fullPage: true });

    // Cancelling the confirmation sends nothing.
    const before = (await e2e.status()).lastCommand;
    await page.click('#command-abort');
    await page.click('#confirm-cancel');
    await sleep(1500);
    expect((await e2e.status()).lastCommand).toEqual(before);
    expect((await e2e.status()).phase).toBe('Paused');

    await page.click('#command-promote');
    await expect.poll(() => page.locator('#confirm').getAttribute('open')).not.toBeNull();
    await page.click('#confirm-ok');
    await page.locator('#command-result', { hasText: 'promote accepted' }).waitFor({ timeout: 30_000 });
    const status = await e2e.waitFor(
      'the gate to be passed',
      (s) => (s.currentStep ?? 0) >= 2 || s.phase === 'Promoting' || s.phase === 'Succeeded',
    );
    expect(status.lastCommand).toMatchObject({ command: 'promote', accepted: true });
    await e2e.waitFor('the promotion', (s) => s.phase === 'Succeeded', 90_000);
    await page.locator('#phase [data-phase="Succeeded"]').waitFor({ timeout: 10_000 });
  }, 150_000);

  it('shows a bad release rolled back, with the reason and the decision on the timeline', async () => {
    await e2e.release(`${IMAGE}:1.2.0-bad-errors`);
    const status = await e2e.waitFor('the rollback', (s) => s.phase === 'RolledBack', 90_000);
    await page.locator('#phase [data-phase="RolledBack"]').waitFor({ timeout: 10_000 });
    const reason = await page.locator('#reason').textContent();
    expect(reason).toContain(status.reason);
    expect(reason).toContain(status.message);
    // The rollback's Event (a Warning with the status's reason and message) is on the timeline.
    const decision = page.locator('#timeline tr', { hasText: status.message }).filter({ hasText: 'Warning' });
    await decision.first().waitFor({ timeout: 10_000 });
    expect(await decision.first().textContent()).toContain(status.reason);
    // The checks the dashboard saw are drawn (uPlot renders a canvas per chart), with stable's values beside them.
    expect(await page.locator('#chart-errors canvas').count()).toBeGreaterThan(0);
    const detail = (await (await fetch(`${url}api/rollouts/${e2e.namespace}/${APP}`)).json()) as {
      checks: { errorRate?: number; stable?: { errorRate?: number } }[];
    };
    const compared = detail.checks.filter((c) => c.stable?.errorRate !== undefined);
    expect(compared.length).toBeGreaterThan(0);
    // A bad canary against a healthy stable (0.1% errors in the sandbox): the canary's worst check shows the gap
    // (its first checks may have seen no error yet).
    const worstCanary = Math.max(...detail.checks.map((c) => c.errorRate ?? 0));
    expect(worstCanary).toBeGreaterThan(Math.max(...compared.map((c) => c.stable!.errorRate!)));
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-rolled-back.png`, fullPage: true });
    await page.goto(url);
    await page.locator('[data-phase="RolledBack"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: `${SCREENSHOTS}dashboard-rollouts.png` });
  }, 150_000);

  // Last: its Event would otherwise appear in the screenshots.
  it('shows markup in cluster values as text, never as elements', async () => {
    const hostile = '<img id="injected" src="x"> <script>window.injected = 1</script>';
    await e2e.stack.kubeConfig.makeApiClient(CoreV1Api).createNamespacedEvent({
      namespace: e2e.namespace,
      body: {
        metadata: { name: 'hostile-event', namespace: e2e.namespace },
        involvedObject: {
          apiVersion: 'stepwise.dev/v1alpha1',
          kind: 'Rollout',
          name: APP,
          namespace: e2e.namespace,
        },
        type: 'Normal',
        reason: 'Hostile',
        message: hostile,
        lastTimestamp: new Date(),
      },
    });
    await page.goto(`${url}rollouts/${e2e.namespace}/${APP}`);
    await page.locator('#timeline td', { hasText: 'Hostile' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#timeline').textContent()).toContain(hostile);
    expect(await page.locator('#injected').count()).toBe(0);
    expect(await page.evaluate('window.injected')).toBeUndefined();
  }, 30_000);
});
