#!/usr/bin/env node
// Writes docs/openapi.json from the route table (after `npm run build`). src/lb/openapi.test.ts fails when the
// shipped file and the generated document differ: run this, and commit the result.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { openApiText } = await import('../dist/src/lb/openapi.js');
const { PACKAGE_VERSION } = await import('../dist/src/shared/version.js');
const out = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
writeFileSync(out, openApiText(PACKAGE_VERSION));
console.log(`wrote ${out}`);
