/** The console's stylesheet: system fonts only, light and dark from the OS setting, state in words and symbols. */
export const CONSOLE_CSS = `
:root { color-scheme: light dark;
  --bg: #f7f7f5; --fg: #1b1b1b; --muted: #5a5a5a; --card: #ffffff; --line: #d6d6d2; --accent: #0b57d0;
  --ok: #146c2e; --ok-bg: #e3f4e6; --warn: #7a4b00; --warn-bg: #fff1d6; --bad: #a4161a; --bad-bg: #fde2e1;
  --idle: #44474e; --idle-bg: #ececec; --focus: #0b57d0; }
@media (prefers-color-scheme: dark) { :root {
  --bg: #121314; --fg: #e8e8e6; --muted: #a8a8a4; --card: #1c1d1f; --line: #35373a; --accent: #8ab4f8;
  --ok: #7fd492; --ok-bg: #0f2e18; --warn: #f4c56b; --warn-bg: #3a2a08; --bad: #ff9a95; --bad-bg: #43161a;
  --idle: #c4c7c5; --idle-bg: #2a2b2d; --focus: #8ab4f8; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono, td.num, .addr { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--card); padding: 8px 12px; z-index: 10; }
.skip:focus { left: 8px; top: 8px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 24px; padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 19px; margin: 0; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0; color: var(--muted); font-size: 13px; }
header dl div { display: flex; gap: 6px; }
header dt::after { content: ":"; }
header dd { margin: 0; color: var(--fg); }
#conn { margin: 0 0 0 auto; font-size: 13px; font-weight: 600; padding: 2px 10px; border-radius: 999px; }
#conn[data-conn="live"] { color: var(--ok); background: var(--ok-bg); }
#conn[data-conn="lost"] { color: var(--bad); background: var(--bad-bg); }
#conn[data-conn="connecting"] { color: var(--idle); background: var(--idle-bg); }
main { padding: 16px 24px 40px; display: grid; gap: 18px; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); align-items: start; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 15px; margin: 0 0 10px; }
h2 small { font-weight: normal; color: var(--muted); }
#summary { margin: 0; font-size: 16px; font-weight: 600; padding: 10px 14px; border-radius: 6px; border-left: 6px solid currentColor; }
#summary[data-level="ok"] { color: var(--ok); background: var(--ok-bg); }
#summary[data-level="warn"] { color: var(--warn); background: var(--warn-bg); }
#summary[data-level="bad"] { color: var(--bad); background: var(--bad-bg); }
#summary[data-level="idle"] { color: var(--idle); background: var(--idle-bg); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
thead th { font-size: 12px; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); font-weight: 600; }
th[scope="row"] { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.sub.note { white-space: normal; max-width: 28em; }
.sub { display: block; font-weight: normal; color: var(--muted); font-size: 12px; text-transform: none; letter-spacing: 0; }
.st { display: inline-flex; align-items: center; gap: 5px; font-weight: 600; border-radius: 4px; padding: 1px 7px; font-size: 13px; }
.st .sym { font-size: 11px; }
.st[data-tone="ok"] { color: var(--ok); background: var(--ok-bg); }
.st[data-tone="warn"] { color: var(--warn); background: var(--warn-bg); }
.st[data-tone="bad"] { color: var(--bad); background: var(--bad-bg); }
.st[data-tone="idle"] { color: var(--idle); background: var(--idle-bg); }
td.none { color: var(--muted); text-align: center; }
.primary { font-size: 12px; color: var(--accent); font-weight: 600; margin-left: 4px; }
.spark { vertical-align: middle; }
.spark polyline { fill: none; stroke-width: 1.5; }
.spark .r { stroke: var(--accent); }
.spark .w { stroke: var(--warn); }
.legend { color: var(--muted); font-size: 12px; margin: 8px 0 0; }
ol.timeline { list-style: none; margin: 0; padding: 0; }
ol.timeline > li { border-left: 4px solid var(--line); padding: 6px 0 8px 12px; margin-bottom: 8px; }
ol.timeline > li[data-outcome="serving"] { border-color: var(--ok); }
ol.timeline > li[data-outcome="recovering"] { border-color: var(--warn); }
ol.timeline > li[data-outcome="dropped"], ol.timeline > li[data-outcome="interrupted"] { border-color: var(--bad); }
.inc-head { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: baseline; }
.inc-times { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0; font-size: 13px; }
.inc-times b { font-variant-numeric: tabular-nums; }
ol.steps { margin: 4px 0 0; padding-left: 18px; font-size: 13px; color: var(--muted); }
ol.steps time, ol.events time { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; margin-right: 8px; }
ol.events { margin: 0; padding: 0; list-style: none; font-size: 13px; max-height: 340px; overflow-y: auto; }
ol.events li { padding: 2px 0; border-bottom: 1px dotted var(--line); }
.kind { font-weight: 600; }
dl.cfg { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 14px; }
dl.cfg dt { color: var(--muted); }
dl.cfg dd { margin: 0; }
.empty { color: var(--muted); font-style: italic; margin: 0; }
button { font: inherit; font-size: 13px; padding: 3px 10px; border-radius: 5px; border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
form.add { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; margin-top: 12px; font-size: 13px; }
form.add fieldset { border: 1px solid var(--line); border-radius: 5px; padding: 2px 8px; margin: 0; display: flex; gap: 10px; }
input[type="text"] { font: inherit; font-size: 13px; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--card); color: var(--fg); max-width: 460px; }
dialog::backdrop { background: rgba(0,0,0,.45); }
dialog menu { display: flex; gap: 10px; justify-content: flex-end; padding: 0; margin: 14px 0 0; }
#action-result { font-size: 13px; margin: 8px 0 0; }
`;
