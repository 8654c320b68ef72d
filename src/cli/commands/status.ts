/** `shardctl status` and `shardctl events`: the cluster as the LB sees it, with health and incidents. */
import chalk from 'chalk';
import { withLb } from '../http.js';
import { print, table } from '../io.js';
import { lbUrl, type GlobalOpts } from '../context.js';

interface Details {
  configured: boolean;
  servers: { name: string; status: string; url?: string; shards: string[]; stale: boolean; failures?: number; lastError?: string }[];
  unavailable?: string;
  shards: {
    Shard_id: string;
    Stud_id_low: number;
    Shard_size: number;
    replicas: string[];
    serving: string[];
    rows: number;
    orphaned: boolean;
    primary?: string | null;
    term?: number;
    noPrimary?: string;
  }[];
  incidents: Incident[];
}
interface Incident {
  server: string;
  reason: string;
  detectedAt: number;
  timeToDetectMs: number;
  timeToServingMs?: number;
  outcome: string;
  rowsCopied: number;
}

const colour = (s: string) => (s === 'serving' ? chalk.green(s) : s === 'fenced' || s === 'gone' ? chalk.red(s) : chalk.yellow(s));

export async function statusCmd(o: GlobalOpts): Promise<void> {
  const url = lbUrl(o);
  const [status, d] = await withLb(url, (c) => Promise.all([c.status(), c.cluster() as Promise<unknown> as Promise<Details>]));
  print(o.json, { ...(status as object), health: d }, () => {
    if (!d.configured) {
      process.stdout.write(`LB at ${url}: no database configured yet (run \`shardctl init\`)\n`);
      return;
    }
    process.stdout.write(`${chalk.bold('LB')} ${url}  N=${d.servers.length}\n\n`);
    if (d.unavailable) process.stdout.write(`${chalk.yellow(d.unavailable)}\n\n`);
    const stateOf = (r: string) => d.servers.find((x) => x.name === r)?.status ?? 'unknown';
    process.stdout.write(
      `${table(
        ['SHARD', 'KEYS', 'ROWS', 'PRIMARY (term)', 'REPLICAS (serving)'],
        d.shards.map((s) => [
          s.orphaned ? chalk.red(s.Shard_id) : s.Shard_id,
          `[${s.Stud_id_low}, ${s.Stud_id_low + s.Shard_size})`,
          s.rows,
          s.primary ? `${s.primary} (${s.term})` : s.noPrimary ? chalk.red(`none: ${s.noPrimary}`) : '-',
          s.replicas.map((r) => (s.serving.includes(r) ? r : chalk.red(`${r}(${stateOf(r)})`))).join(' ') || chalk.red('NONE: data unavailable'),
        ]),
      )}\n\n`,
    );
    process.stdout.write(
      `${table(
        ['SERVER', 'STATE', 'SHARDS', 'ADDRESS', 'NOTE'],
        d.servers.map((s) => [s.name, colour(s.status), s.shards.join(','), s.url ?? '', s.failures ? `${s.failures} failed attempts: ${s.lastError ?? ''}` : (s.status !== 'serving' && s.lastError) || '']),
      )}\n`,
    );
    const recent = d.incidents.slice(-5);
    if (recent.length) {
      process.stdout.write(`\n${chalk.bold('Recent incidents')}\n`);
      process.stdout.write(`${table(['SERVER', 'OUTCOME', 'DETECT', 'TO SERVING', 'ROWS COPIED', 'REASON'], recent.map(incidentRow))}\n`);
    }
  });
}

function incidentRow(i: Incident): (string | number)[] {
  return [i.server, i.outcome, `${i.timeToDetectMs} ms`, i.timeToServingMs === undefined ? '-' : `${i.timeToServingMs} ms`, i.rowsCopied, i.reason];
}

export async function eventsCmd(o: GlobalOpts): Promise<void> {
  const body = await withLb(o, (c) => c.events());
  print(o.json, body, () => {
    for (const e of body.events)
      process.stdout.write(`${new Date(e.t).toISOString()}  ${e.kind.padEnd(14)} ${(e.server ?? '').padEnd(12)} ${e.shard ?? ''} ${e.detail ?? ''}\n`);
    if (body.incidents.length) process.stdout.write(`\n${table(['SERVER', 'OUTCOME', 'DETECT', 'TO SERVING', 'ROWS COPIED', 'REASON'], body.incidents.map(incidentRow))}\n`);
  });
}
