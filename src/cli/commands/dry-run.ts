/** The human form of a `--dry-run` plan (init, add, rm): what would start, stop, be copied or dropped. */
import chalk from 'chalk';
import type { ChangePlan } from '../../client/index.js';
import { table } from '../io.js';

export function printPlan(p: ChangePlan): void {
  const w = (s: string) => process.stdout.write(`${s}\n`);
  w(chalk.bold(`Dry run of ${p.action}: nothing was changed`));
  w(`servers: ${p.N_before} -> ${p.N_after}`);
  if (p.stop.length) w(`stop:    ${p.stop.join(', ')}`);
  if (p.random_stop) w(`stop:    ${p.random_stop.count} picked at random among ${p.random_stop.among.join(', ')}`);
  for (const s of p.spawn) w(`start:   ${s.server}${s.random ? chalk.yellow(' (a random id)') : ''} with ${s.shards.join(', ') || 'no shards'}`);
  if (p.create.length) w(`create:  ${p.create.join(', ')} (empty)`);
  for (const c of p.copy) w(`copy:    ${c.shard} -> ${c.to}: ${c.rows} rows from ${c.from.join(' or ') || chalk.red('no serving replica')}`);
  for (const d of p.drop) w(`drop:    ${d.shard} on ${d.server} (${d.rows} rows)`);
  w(`rows copied: ${p.rows_copied}; rows deleted for good: ${p.rows_lost ? chalk.red(String(p.rows_lost)) : 0}`);
  w('');
  w(
    table(
      ['SHARD', 'REPLICAS', 'SERVING'],
      Object.entries(p.replicas).map(([id, r]) => [
        p.unavailable.includes(id) ? chalk.red(id) : id,
        `${r.before} -> ${r.after}`,
        `${r.serving_before} -> ${r.serving_after}${r.serving_after_min !== undefined && r.serving_after_min !== r.serving_after ? ` (${r.serving_after_min} at worst)` : ''}`,
      ]),
    ),
  );
  w('');
  w(p.unavailable.length ? chalk.red(`left without a serving replica: ${p.unavailable.join(', ')}`) : 'every shard keeps a serving replica');
  for (const n of p.notes) w(chalk.dim(`note: ${n}`));
}
