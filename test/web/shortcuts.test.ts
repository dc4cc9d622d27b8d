// Specification of the keyboard shortcuts in a real Chromium against a real server: `?` lists them and Esc closes the
// list, and each key does what the list says (`/` filter, `g r` runs, `g a` alerts, `c` compare, `t` theme); keys
// typed into a field stay text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { RunningServer } from '../../harness/server.js';
import { browserMissing, createRun, dashboardTests, screenshot, until } from '../../harness/browser.js';

const skip = browserMissing() ?? false;
let server: RunningServer;
let page: Page;
let errors: string[];
const ids: string[] = [];

dashboardTests({
  async seed(running) {
    server = running;
    for (const name of ['facades-a', 'facades-b', 'edges-c']) ids.push(await createRun(server, { name }));
  },
  context: { colorScheme: 'light' },
  open: () => '/#/',
  ready: (ui) => ({ page, errors } = ui),
});

const hash = (): Promise<string> => page.evaluate(() => location.hash);
const help = () => page.locator('dialog.shortcuts-dialog');
const active = (): Promise<string> =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}${el instanceof HTMLInputElement ? `[${el.type}]` : ''}` : '';
  });

/** Focus on the page itself, out of any field, as after a click on empty space. */
async function blur(): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

test('? lists the shortcuts; Esc and ? close the list', { skip }, async () => {
  await page.locator('tbody tr').nth(2).waitFor();
  await blur();
  await page.keyboard.press('?');
  await help().waitFor({ state: 'visible' });
  const keys = await help()
    .locator('tr[data-keys]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-keys')));
  assert.deepEqual(keys, ['?', '/', 'g r', 'g a', 'c', 't']);
  assert.match(await help().innerText(), /Esc/);
  await screenshot(page, 'shortcuts-help', { selector: 'dialog.shortcuts-dialog' });
  await page.keyboard.press('Escape');
  await help().waitFor({ state: 'hidden' });
  await page.keyboard.press('?');
  await help().waitFor({ state: 'visible' });
  await page.keyboard.press('?');
  await help().waitFor({ state: 'hidden' });
  // The header's button opens it too (for those who do not know the key).
  await page.locator('.shortcuts-button').click();
  await help().waitFor({ state: 'visible' });
  await help().getByRole('button', { name: 'Close' }).click();
  await help().waitFor({ state: 'hidden' });
  assert.deepEqual(errors, []);
});

test('/ focuses the filter; keys typed there are text, not shortcuts', { skip }, async () => {
  await blur();
  await page.keyboard.press('/');
  assert.equal(await active(), 'input[search]');
  assert.equal(await page.locator('[data-shortcut="filter"]').inputValue(), '', 'the / is not typed');
  await page.keyboard.type('gat?c');
  assert.equal(await page.locator('[data-shortcut="filter"]').inputValue(), 'gat?c');
  // The runs list keeps its filter in the address (#/?q=…); `g a` typed there must not open the alerts (#/alerts).
  assert.match(await hash(), /^#\/(\?|$)/, 'g a typed into the field does not navigate');
  assert.equal(await help().isVisible(), false);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light', 't is text there');
  await page.locator('[data-shortcut="filter"]').fill('');
});

test(
  'g a opens the alerts, g r the runs; / from another view opens the runs list and its filter',
  { skip },
  async () => {
    await blur();
    await page.keyboard.press('g');
    await page.keyboard.press('a');
    await until(async () => (await hash()) === '#/alerts', 'the alerts view');
    await page.locator('.alerts-panel').waitFor();
    await blur();
    await page.keyboard.press('g');
    await page.keyboard.press('r');
    await until(async () => (await hash()) === '#/', 'the runs list');
    await page.locator('tbody tr').nth(2).waitFor();
    // A lone `r` or `a` does nothing.
    await blur();
    await page.keyboard.press('a');
    assert.equal(await hash(), '#/');
    await page.goto(`${server.url}/#/alerts`);
    await page.locator('.alerts-panel').waitFor();
    await blur();
    await page.keyboard.press('/');
    await until(async () => (await hash()) === '#/' && (await active()) === 'input[search]', 'the runs filter focused');
  },
);

test('c compares the ticked runs, and says what to do when fewer than two are ticked', { skip }, async () => {
  await page.locator('tbody tr').nth(2).waitFor();
  await blur();
  await page.keyboard.press('c');
  await until(async () => /Tick 2 to 10 runs/.test(await page.locator('.shortcut-hint').innerText()), 'the hint');
  assert.equal(await hash(), '#/');
  for (const id of ids.slice(0, 2)) await page.locator(`tbody tr[data-run="${id}"] input[type=checkbox]`).check();
  // A ticked checkbox has focus: keys on it are still shortcuts (it takes no text).
  await page.keyboard.press('c');
  await until(async () => (await hash()).startsWith('#/compare?runs='), 'the compare view');
  const chosen = decodeURIComponent((await hash()).split('runs=')[1]!).split(',');
  assert.deepEqual(chosen.sort(), ids.slice(0, 2).sort());
});

test('t switches the theme and back', { skip }, async () => {
  await blur();
  const theme = (): Promise<string | undefined> => page.evaluate(() => document.documentElement.dataset.theme);
  assert.equal(await theme(), 'light');
  await page.keyboard.press('t');
  await until(async () => (await theme()) === 'dark', 'dark');
  assert.equal(await page.evaluate(() => localStorage.getItem('ganwatch.theme')), 'dark');
  await page.keyboard.press('t');
  await until(async () => (await theme()) === 'light', 'light');
  // With a modifier (a browser or system command) it is not a shortcut.
  await page.keyboard.press('Alt+t');
  assert.equal(await theme(), 'light');
  assert.deepEqual(errors, []);
});
