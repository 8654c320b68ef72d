/**
 * GET / for a browser: one self-contained page (issue 12). Its style and script are inline and everything
 * else is forbidden by its Content-Security-Policy (hashes of the two inline blocks, connect-src 'self'), so it
 * works offline and loads nothing from anywhere but the LB. The page is the same for every request, so it is
 * built once.
 */
import { createHash } from 'node:crypto';
import { CONSOLE_CSS } from './page-style.js';
import { CONSOLE_JS } from './page-script.js';

const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

/** The Content-Security-Policy the page is served with. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  `script-src ${sha(CONSOLE_JS)}`,
  `style-src ${sha(CONSOLE_CSS)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The console page; `actions` adds the add-server form (kill/remove buttons are drawn per server by the script). */
export function consolePage(actions: boolean): string {
  const addForm = actions
    ? `<form class="add" id="add-form" aria-label="Add a server">
        <label>name <input type="text" id="add-name" value="Server[1]" size="12" aria-describedby="add-help"></label>
        <fieldset id="add-shards"><legend>shards</legend></fieldset>
        <button type="submit">Add server…</button>
        <span id="add-help" class="sub">Server[1] asks the LB to pick a fresh id</span>
      </form>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>shardctl console</title>
<link rel="icon" href="data:,">
<style>${CONSOLE_CSS}</style>
</head>
<body>
<a class="skip" href="#grid-sec">Skip to the shard grid</a>
<header>
  <h1>shardctl console</h1>
  <dl id="lb" aria-label="Load balancer"></dl>
  <p id="conn" role="status" data-conn="connecting">connecting…</p>
</header>
<main>
  <section class="wide" aria-labelledby="h-summary">
    <h2 id="h-summary" class="sr-only">Cluster health</h2>
    <p id="summary" data-level="idle" role="status" aria-live="polite">Waiting for the load balancer…</p>
  </section>
  <section class="wide" id="grid-sec" aria-labelledby="h-grid" tabindex="-1">
    <h2 id="h-grid">Shards × servers <small>each replica's state; ● serving, ◐ recovering or starting, ✕ fenced (not answering)</small></h2>
    <div class="scroll" role="region" aria-labelledby="h-grid" tabindex="0"><table id="grid"></table></div>
  </section>
  <section class="wide" aria-labelledby="h-servers">
    <h2 id="h-servers">Servers</h2>
    <div class="scroll" role="region" aria-labelledby="h-servers" tabindex="0"><table id="servers"></table></div>
    ${addForm}
    ${actions ? '<p id="action-result" role="status" aria-live="polite"></p>' : ''}
  </section>
  <section class="wide" aria-labelledby="h-metrics">
    <h2 id="h-metrics">Throughput and latency <small>per shard, counted by the LB; rates are the last complete second</small></h2>
    <div class="scroll" role="region" aria-labelledby="h-metrics" tabindex="0"><table id="metrics"></table></div>
  </section>
  <section aria-labelledby="h-incidents">
    <h2 id="h-incidents">Incidents <small>newest first</small></h2>
    <ol class="timeline" id="incidents" aria-live="polite"></ol>
  </section>
  <section aria-labelledby="h-events">
    <h2 id="h-events">Recent events <small>newest first</small></h2>
    <ol class="events" id="events" tabindex="0" aria-labelledby="h-events"></ol>
  </section>
  <section class="wide" aria-labelledby="h-config">
    <h2 id="h-config">Configuration</h2>
    <dl class="cfg" id="config"></dl>
  </section>
</main>
<dialog id="confirm" aria-labelledby="confirm-text">
  <form method="dialog">
    <p id="confirm-text"></p>
    <menu><button value="cancel" autofocus>Cancel</button><button value="ok" id="confirm-ok" class="danger">Confirm</button></menu>
  </form>
</dialog>
<script>${CONSOLE_JS}</script>
</body>
</html>
`;
}

/**
 * Content negotiation for GET /: HTML when the client accepts text/html at least as much as JSON (a browser
 * navigating), JSON otherwise (curl's * / *, fetch's default, an Accept: application/json client). Pure.
 */
export function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q') q = Number(v);
    }
    if (!(q >= 0)) q = 0;
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q);
    else if (type === 'application/json') json = Math.max(json, q);
  }
  return html > 0 && html >= json;
}
