/** `shardctl verify`: every shard's replicas compared (rows and digest) at one position; exit 0 only when all agree. */
import chalk from 'chalk';
import type { VerifyReport } from '../../client/index.js';
import { ExitError } from '../errors.js';
import { withLb } from '../http.js';
import { print, table } from '../io.js';
import type { GlobalOpts } from '../context.js';

const MARK: Record<string, (s: string) => string> = {
  agree: chalk.green,
  differs: chalk.red,
  unreachable: chalk.red,
  'not-serving': chalk.yellow,
};

/** Pure: the shards x replicas table (each cell: agree, differs, unreachable or not-serving, with the row count). */
export function verifyTable(r: VerifyReport): string {
  const servers = [...new Set(r.shards.flatMap((s) => s.replicas.map((x) => x.server)))];
  return table(
    ['SHARD', 'ROWS', ...servers, 'RESULT'],
    r.shards.map((s) => [
      s.shard,
      s.lb_rows ?? '?',
      ...servers.map((srv) => {
        const x = s.replicas.find((y) => y.server === srv);
        if (!x) return '';
        return MARK[x.verdict](x.rows === undefined ? x.verdict : `${x.verdict} (${x.rows})`);
      }),
      s.ok ? chalk.green('ok') : chalk.red('DIFFERS'),
    ]),
  );
}

export async function verifyCmd(o: GlobalOpts): Promise<void> {
  const r = await withLb(o, (c) => c.verify({ timeoutMs: 60_000 }));
  print(o.json, r, () => {
    process.stdout.write(`${verifyTable(r)}\n`);
    if (r.ok) process.stdout.write(`${chalk.green('✔')} every shard's serving replicas agree\n`);
  });
  if (!r.ok) {
    const lines = r.shards.filter((s) => !s.ok).map((s) => s.problem);
    throw new ExitError(`${lines.join('; ')}: \`shardctl kill <server>\` makes the LB refill a differing replica from the others`);
  }
}
