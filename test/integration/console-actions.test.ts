/**
 * The console's actions in chromium, by keyboard, on local processes (`shardctl up --console-actions`): Kill asks
 * for confirmation (Cancel sends nothing; Confirm kills, and the page follows the recovery), the Add form adds a
 * server holding the shards ticked, Remove takes it out again. Skipped, with a line saying so, only when there
 * is no chromium and this is not CI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { call } from '../helpers/lb-process.js';
import { cliRunner, freePort } from '../helpers/cli.js';
import { findChromium, launchChromium } from '../helpers/browser.js';

const sh = cliRunner('shardctl-console-actions-');
const NAME = 'console-actions';
const chromium = findChromium();
const required = process.env.SHARDCTL_E2E_REQUIRED === '1' || !!process.env.CI;
const skip = !chromium && !required ? 'no chromium (apt-get install -y chromium)' : false;
if (skip) console.log(`# integration console actions: ${skip}: the browser test is SKIPPED (not passed)`);

/** Presses Tab until the element with data-focus=`key` has the focus (as a keyboard user would reach it). */
async function tabTo(page: Page, key: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if ((await page.evaluate(() => document.activeElement?.getAttribute('data-focus'))) === key) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${key}`);
}

const stateOf = (page: Page, server: string) => page.locator(`#servers tr[data-server="${server}"] .state [data-state]`).first().getAttribute('data-state');

test('console actions by keyboard: kill with confirmation, add, remove', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(chromium, 'CI: chromium is missing (.ci/run installs it: apt-get install -y chromium)');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  t.after(() => sh(['down', '--volumes', '--name', NAME]));
  const up = await sh(['up', '--runtime', 'process', '--console-actions', '--name', NAME, '--port', String(port)]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await sh(['init', '--name', NAME])).code, 0);
  const { context, close } = await launchChromium(chromium!);
  t.after(close);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/`);
  await page.waitForSelector('#servers tr[data-server="Server5"] button[data-focus="kill-Server5"]');

  // Kill, then Cancel (the dialog's focused default): nothing is sent
  await tabTo(page, 'kill-Server5');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  assert.match((await page.locator('#confirm-text').textContent()) ?? '', /Kill Server5\?/);
  await page.keyboard.press('Enter'); // Cancel has the focus
  await page.waitForSelector('dialog#confirm:not([open])', { state: 'hidden' });
  await page.waitForTimeout(700);
  assert.equal(await stateOf(page, 'Server5'), 'serving', 'cancelled: Server5 still serving');
  assert.equal(((await call(url, 'GET', '/events')).body.incidents as unknown[]).length, 0);

  // Kill, then Confirm: the page follows Server5 out and back
  await tabTo(page, 'kill-Server5');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  await page.keyboard.press('Tab'); // to Confirm
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /done: killed Server5/.test(document.getElementById('action-result')?.textContent ?? ''), null, { timeout: 10_000 });
  await page.waitForSelector('li[data-incident-server="Server5"][data-outcome="serving"]', { timeout: 60_000 });

  // Add Server9 holding sh2 from the form
  await page.fill('#add-name', 'Server9');
  await page.check('#add-shards input[value="sh2"]');
  await page.focus('#add-form button[type="submit"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  assert.match((await page.locator('#confirm-text').textContent()) ?? '', /Add Server9 holding sh2\?/);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#servers tr[data-server="Server9"] .state [data-state]')?.getAttribute('data-state') === 'serving', null, { timeout: 60_000 });
  assert.deepEqual((await call(url, 'GET', '/status')).body.servers.Server9, ['sh2']);

  // Remove it again
  await tabTo(page, 'rm-Server9');
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog#confirm[open]');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#servers tr[data-server="Server9"]', { state: 'detached', timeout: 30_000 });
  assert.equal((await call(url, 'GET', '/status')).body.servers.Server9, undefined);
  assert.deepEqual(errors, [], 'no console errors');
});
