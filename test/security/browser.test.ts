// Specification, in a real browser (Debian's Chromium through playwright-core), that the dashboard passes the server's
// content security policy: no violation while it loads and runs, its live socket connects, and the policy is in force
// (a foreign socket and an inline script are refused). Skipped when no Chromium is installed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { browserMissing, dashboardTests, type Browser } from '../../harness/browser.js';
import { api, type RunningServer } from '../../harness/server.js';

interface Violation {
  directive: string;
  blocked: string;
}

/** Opens `url` with a recorder of CSP violations installed before any page script runs. */
async function open(
  browser: Browser,
  url: string,
): Promise<{ page: Page; violations: () => Promise<Violation[]>; console: string[] }> {
  const page = await browser.context.newPage();
  const messages: string[] = [];
  page.on('console', (m) => messages.push(m.text()));
  page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: Array<{ directive: string; blocked: string }> };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      w.__csp.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  return {
    page,
    violations: () => page.evaluate(() => (window as unknown as { __csp: Violation[] }).__csp),
    console: messages,
  };
}

describe('the dashboard under the content security policy', { skip: browserMissing() ?? false }, () => {
  let server: RunningServer;
  let browser: Browser;
  let run: string;

  dashboardTests({
    server: { token: 'w', readToken: 'r' },
    async seed(running) {
      server = running;
      run = (await api(server, 'POST', '/api/v1/runs', { name: 'csp' }, 'w')).body.id;
      await api(
        server,
        'POST',
        `/api/v1/runs/${run}/points`,
        {
          points: [
            { step: 0, values: { 'loss/D': 1 } },
            { step: 1, values: { 'loss/D': 0.5 } },
          ],
        },
        'w',
      );
    },
    ready: (ui) => (browser = ui.browser),
  });

  test('the dashboard loads and runs without a single violation, and without CSP complaints on the console', async () => {
    for (const path of ['/?token=r', `/?token=r#/runs/${run}`]) {
      const { page, violations, console } = await open(browser, server.url + path);
      if (path.includes('#/runs/')) {
        // The built dashboard ran its script: the run page names the run (and draws its charts).
        await page.getByText('csp', { exact: true }).first().waitFor({ timeout: 10_000 });
      }
      await page.waitForTimeout(1000);
      assert.deepEqual(await violations(), [], `violations on ${path}`);
      assert.deepEqual(
        console.filter((m) => /Content Security Policy|Refused to/i.test(m)),
        [],
        `console on ${path}`,
      );
      await page.close();
    }
  });

  test('opening the dashboard without the token shows a form; entering the token opens the dashboard', async () => {
    const { page, violations } = await open(browser, server.url + '/');
    await page.getByLabel('Read token').fill('wrong');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.getByText('That token was refused').waitFor({ timeout: 5000 });
    await page.getByLabel('Read token').fill('r');
    await page.getByRole('button', { name: 'Open the dashboard' }).click();
    await page.waitForURL(/\/\?token=r$/);
    await page.getByText('csp', { exact: true }).first().waitFor({ timeout: 10_000 });
    assert.deepEqual(await violations(), []);
    await page.close();
  });

  test("a live socket to the page's own origin connects under the policy", async () => {
    const { page, violations } = await open(browser, server.url + '/?token=r');
    const frame = await page.evaluate(
      (id) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/api/v1/live?token=r`);
          ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', runs: [id] }));
          ws.onmessage = (e) => resolve(String(e.data));
          ws.onerror = () => resolve('error');
        }),
      run,
    );
    assert.equal(JSON.parse(frame).type, 'subscribed');
    assert.deepEqual(await violations(), []);
    await page.close();
  });

  test('the policy is in force: a socket to another origin and an injected inline script are refused', async () => {
    const { page, violations } = await open(browser, server.url + '/?token=r');
    await page.evaluate(() => {
      try {
        new WebSocket('ws://127.0.0.2:9/');
      } catch {
        // Refused synchronously in some browsers; the violation event is what is checked.
      }
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true;';
      document.body.appendChild(s);
    });
    await page.waitForTimeout(300);
    const seen = await violations();
    assert.ok(
      seen.some((v) => v.directive === 'connect-src'),
      JSON.stringify(seen),
    );
    assert.ok(
      seen.some((v) => v.directive === 'script-src-elem' || v.directive === 'script-src'),
      JSON.stringify(seen),
    );
    assert.equal(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected ?? false), false);
    await page.close();
  });
});
