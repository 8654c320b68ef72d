import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextStatus, type ServerEvent, type ServerStatus } from './server-status.js';

// every (status, event) pair: the next status, or '-' where the event does not apply (ignored)
const TABLE: [ServerStatus, ServerEvent, ServerStatus | '-'][] = [
  ['starting', 'ready', 'serving'],
  ['starting', 'fault', 'fenced'],
  ['starting', 'respawn', '-'],
  ['starting', 'returned', '-'],
  ['starting', 'removed', 'gone'],
  ['serving', 'ready', '-'],
  ['serving', 'fault', 'fenced'],
  ['serving', 'respawn', '-'],
  ['serving', 'returned', '-'],
  ['serving', 'removed', 'gone'],
  // a fenced server is only ever left by recovery (respawn / returned) or by an operator: never dropped by a fault
  ['fenced', 'ready', '-'],
  ['fenced', 'fault', '-'],
  ['fenced', 'respawn', 'recovering'],
  ['fenced', 'returned', 'recovering'],
  ['fenced', 'removed', 'gone'],
  ['recovering', 'ready', 'serving'],
  ['recovering', 'fault', 'fenced'],
  ['recovering', 'respawn', '-'],
  ['recovering', 'returned', '-'],
  ['recovering', 'removed', 'gone'],
  ['gone', 'ready', '-'],
  ['gone', 'fault', '-'],
  ['gone', 'respawn', '-'],
  ['gone', 'returned', '-'],
  ['gone', 'removed', '-'],
];

test('server status transitions, by table', () => {
  for (const [from, ev, to] of TABLE) assert.equal(nextStatus(from, ev) ?? '-', to, `${from} --${ev}-->`);
});

test('no event reaches gone but an operator removal', () => {
  for (const [from, ev, to] of TABLE) if (to === 'gone') assert.equal(ev, 'removed', `${from} --${ev}--> gone`);
});
