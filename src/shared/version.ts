import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** This package's version (package.json at the repository root; dist/src/shared -> ../../../). */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }
).version;
