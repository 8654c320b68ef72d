import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserOpener } from './console.js';

test('browserOpener: opens a browser only on a desktop, never in CI', () => {
  const all = () => true;
  const none = () => false;
  assert.deepEqual(browserOpener({ CI: 'true', DISPLAY: ':0' }, 'linux', all), { none: 'CI' });
  assert.deepEqual(browserOpener({}, 'linux', all), { none: 'no display' });
  assert.deepEqual(browserOpener({ DISPLAY: ':0' }, 'linux', all), { cmd: 'xdg-open', args: [] });
  assert.deepEqual(browserOpener({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux', (c) => c === 'sensible-browser'), { cmd: 'sensible-browser', args: [] });
  assert.deepEqual(browserOpener({ DISPLAY: ':0' }, 'linux', none), { none: 'no xdg-open' });
  assert.deepEqual(browserOpener({}, 'darwin', none), { cmd: 'open', args: [] });
  assert.deepEqual(browserOpener({ BROWSER: 'firefox' }, 'linux', none), { cmd: 'firefox', args: [] });
});
