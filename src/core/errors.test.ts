import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from './errors.js';

test('every error code is documented in docs/errors.md with its status', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  for (const [code, status] of Object.entries(ERROR_CODES)) {
    const line = doc.split('\n').find((l) => l.includes(`\`${code}\``));
    assert.ok(line, `${code} is missing from docs/errors.md`);
    assert.ok(line.includes(String(status)), `${code}: docs/errors.md does not give status ${status}`);
  }
});
