/**
 * `shardctl console`: prints the web console's address (the LB's GET /) and opens a browser when one can be
 * opened: a desktop session (a display on Linux, always on macOS and Windows), not CI, not --no-open.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { callOk } from '../http.js';
import { info, ok, print } from '../io.js';
import { lbUrl, type GlobalOpts } from '../context.js';

export interface ConsoleCmdOpts extends GlobalOpts {
  /** commander's --no-open */
  open?: boolean;
}

/** The command that opens a URL in the user's browser here, or why there is none. Pure. */
export function browserOpener(
  env: Record<string, string | undefined>,
  platform: string,
  onPath: (cmd: string) => boolean,
): { cmd: string; args: string[] } | { none: string } {
  if (env.CI) return { none: 'CI' };
  if (env.BROWSER) return { cmd: env.BROWSER, args: [] };
  if (platform === 'darwin') return { cmd: 'open', args: [] };
  if (platform === 'win32') return { cmd: 'cmd', args: ['/c', 'start', '""'] };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { none: 'no display' };
  for (const cmd of ['xdg-open', 'sensible-browser', 'x-www-browser']) if (onPath(cmd)) return { cmd, args: [] };
  return { none: 'no xdg-open' };
}

const onPath = (cmd: string) => (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));

export async function consoleCmd(o: ConsoleCmdOpts): Promise<void> {
  const base = lbUrl(o);
  const about = (await callOk(base, 'GET', '/')) as { version?: string; endpoints?: string[] };
  const url = `${base}/`;
  const actions = !!about.endpoints?.includes('POST /console/kill');
  const opener = o.open === false ? { none: '--no-open' } : browserOpener(process.env, process.platform, onPath);
  let opened = false;
  if ('cmd' in opener) {
    try {
      const child = spawn(opener.cmd, [...opener.args, url], { stdio: 'ignore', detached: true });
      child.on('error', () => undefined);
      child.unref();
      opened = true;
    } catch {
      opened = false;
    }
  }
  print(o.json, { url, opened, actions, version: about.version }, () => {
    ok(`console: ${url}  (${actions ? 'actions enabled' : 'read-only; `shardctl up --console-actions` enables kill, add and remove'})`);
    if (opened) info('opened it in your browser');
    else info(`open it in a browser on this machine${'none' in opener && opener.none !== 'CI' && opener.none !== '--no-open' ? ` (no browser to open here: ${opener.none})` : ''}`);
  });
}
