/** `shardctl explain <Stud_id>` and `explain --range LOW HIGH`: where a key or a read range goes. */
import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { withLb } from '../http.js';
import { intArg, print, table } from '../io.js';
import type { GlobalOpts } from '../context.js';

export interface ExplainOpts extends GlobalOpts {
  requestId?: string;
  range?: string[];
}

export async function explainCmd(key: string | undefined, o: ExplainOpts): Promise<void> {
  const rid = o.requestId === undefined ? undefined : intArg(o.requestId, '--request-id');
  const w = (s: string) => process.stdout.write(`${s}\n`);
  if (o.range) {
    if (key !== undefined) throw new UsageError('explain: give a Stud_id or --range LOW HIGH, not both');
    if (o.range.length !== 2) throw new UsageError('explain --range takes two keys: LOW HIGH');
    const [low, high] = o.range.map((v, i) => intArg(v, i ? 'HIGH' : 'LOW'));
    const r = await withLb(o, (c) => c.explainRange(low, high, { requestId: rid }));
    return print(o.json, r, () => {
      w(`read of [${r.low}, ${r.high}] as request ${r.request_id}: ${r.shards.length} shard${r.shards.length === 1 ? '' : 's'} queried`);
      w(table(['SHARD', 'KEYS READ', 'SLOT', 'REPLICA', 'SERVING'], r.shards.map((s) => [s.shard, `[${s.range.low}, ${s.range.high}]`, s.slot, s.server ?? chalk.red('none'), s.serving.join(' ')])));
    });
  }
  if (key === undefined) throw new UsageError('explain: give a Stud_id, or --range LOW HIGH');
  const k = intArg(key, 'Stud_id');
  const r = await withLb(o, (c) => c.explain(k, { requestId: rid }));
  print(o.json, r, () => {
    w(`Stud_id ${r.key}: shard ${r.shard}, keys [${r.range.low}, ${r.range.high}]`);
    w(`writes go to every serving replica: ${r.writes_to.join(', ') || chalk.red('none')}; primary: ${r.primary ?? 'none (no primaries yet)'}`);
    w(`reads go to one replica, by the request id's slot on the shard's ring (${r.ring.slots} slots, ${r.ring.vnodes} virtual nodes each):`);
    w(table(['REPLICA', 'STATE', 'SLOTS', 'SHARE OF READS'], r.replicas.map((x) => [x.server, x.serving ? x.state : chalk.red(`${x.state} (not serving)`), x.slots, `${(x.share * 100).toFixed(1)} %`])));
    if (r.request) w(`request ${r.request.id} lands on slot ${r.request.slot} and goes to ${r.request.server ?? chalk.red('no replica')}`);
    else w(chalk.dim(`the next read is request ${r.next_request_id}; --request-id R shows where request R goes`));
  });
}
