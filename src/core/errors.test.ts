import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

test('every code in docs/errors.md exists in the catalogue, and every code is raised somewhere in src/', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  const documented = [...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort());
  const srcDir = fileURLToPath(new URL('../../../src/', import.meta.url));
  const files = (readdirSync(srcDir, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('core/errors.ts'));
  const text = files.map((f) => readFileSync(`${srcDir}${f}`, 'utf8')).join('\n');
  for (const code of Object.keys(ERROR_CODES)) assert.ok(text.includes(`'${code}'`), `${code} is never raised outside errors.ts`);
});
