/** The LB's version: package.json's, read once (the LB image ships package.json beside dist/). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;
export function lbVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
