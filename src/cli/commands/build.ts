/** `shardctl build`: both images, offline if need be (see cli/images.ts). */
import { ok, info, print } from '../io.js';
import { buildImages } from '../images.js';
import type { GlobalOpts } from '../context.js';

export async function buildCmd(o: GlobalOpts): Promise<void> {
  const r = await buildImages((m) => info(m));
  print(o.json, r, () => ok(`built ${r.server} and ${r.lb} in ${(r.ms / 1000).toFixed(1)} s (base ${r.base})`));
}
