#!/usr/bin/env node
// Runs the compiled tests with node:test: `node scripts/run-tests.mjs [unit|integration|e2e ...]` (all by default).
// Unit tests sit beside their source (dist/src/**/*.test.js); integration and e2e under dist/test/.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const find = (dir) => {
  let out = [];
  let entries = [];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
};
const suites = {
  unit: () => find(join(root, 'dist/src')),
  integration: () => find(join(root, 'dist/test/integration')),
  e2e: () => find(join(root, 'dist/test/e2e')),
};
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
let failed = false;
for (const s of wanted) {
  if (!suites[s]) { console.error(`unknown suite ${s}: use ${Object.keys(suites).join(', ')}`); process.exit(2); }
  const files = suites[s]();
  console.log(`\n# ${s}: ${files.length} files`);
  if (!files.length) continue;
  // e2e files each build the images (tagged by version) and run a docker cluster: one file at a time
  const serial = s === 'e2e' ? ['--test-concurrency=1'] : [];
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...serial, ...files], { stdio: 'inherit', env: { ...process.env, SHARDCTL_LOG_LEVEL: process.env.SHARDCTL_LOG_LEVEL ?? 'warn' } });
  if (r.status !== 0) { failed = true; console.error(`# ${s}: FAILED`); }
}
process.exit(failed ? 1 : 0);
