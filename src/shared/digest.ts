import { createHash } from 'node:crypto';
import type { Row } from '../core/table.js';

/** SHA-1 of a shard's rows in key order: servers and the LB compute it the same way, so equal means identical. */
export function digestRows(rows: readonly Row[]): string {
  return createHash('sha1').update(JSON.stringify(rows)).digest('hex');
}
