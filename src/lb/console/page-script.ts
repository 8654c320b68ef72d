/**
 * The console's script (plain ES2020, no framework, no imports): opens the LB's event stream, renders each
 * `state` and `metrics` message with DOM calls (textContent only: nothing from the cluster is parsed as HTML),
 * keeps keyboard focus across re-renders, and ticks the ages locally once a second (no request). Actions, when
 * the LB allows them, ask for confirmation in a <dialog> and go to the LB's own endpoints.
 * Written without backticks or "${" so it can live in a template string.
 */
export const CONSOLE_JS = String.raw`
'use strict';
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var state = null, metrics = null, offset = 0, es = null;

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k === 'on') for (var ev in v) el.addEventListener(ev, v[ev]);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function fill(el, children) {
    var key = document.activeElement && document.activeElement.getAttribute('data-focus');
    el.replaceChildren();
    add(el, children);
    if (key) { var f = document.querySelector('[data-focus="' + CSS.escape(key) + '"]'); if (f) f.focus(); }
  }
  function now() { return Date.now() + offset; }
  function dur(ms) {
    if (ms === undefined || ms === null || isNaN(ms)) return '-';
    if (ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
    if (ms < 86400000) return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
    return Math.floor(ms / 86400000) + ' d ' + Math.floor((ms % 86400000) / 3600000) + ' h';
  }
  function clock(t) {
    var d = new Date(t);
    var p = function (n, w) { return String(n).padStart(w || 2, '0'); };
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3).slice(0, 1);
  }
  function num(n) { return n === null || n === undefined ? '-' : Number(n).toLocaleString('en-US'); }
  function ms(v) { return v === null || v === undefined ? '-' : (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + ' ms'; }
  function rate(v) { return v < 10 ? String(Math.round(v * 10) / 10) : Math.round(v).toLocaleString('en-US'); }

  // state words, as the LB (and shardctl status) uses them, to a tone and a symbol; the word is always shown
  function tone(word) {
    if (word === 'serving') return 'ok';
    if (word === 'fenced' || word === 'gone' || word === 'unavailable' || word === 'dropped' || word === 'interrupted') return 'bad';
    if (word === 'recovering' || word === 'starting' || word === 'degraded') return 'warn';
    return 'idle';
  }
  var SYM = { ok: '\u25CF', warn: '\u25D0', bad: '\u2715', idle: '\u25CB' };
  function badge(word, extra) {
    var t = tone(word);
    return h('span', { 'class': 'st', 'data-tone': t, 'data-state': word }, h('span', { 'class': 'sym', 'aria-hidden': 'true', text: SYM[t] }), word, extra);
  }

  // ------------------------------------------------------------------ header and summary
  function renderLb() {
    var lb = state.lb;
    fill($('lb'), [
      h('div', null, h('dt', { text: 'cluster' }), h('dd', { text: lb.cluster })),
      h('div', null, h('dt', { text: 'runtime' }), h('dd', { text: lb.runtime })),
      h('div', null, h('dt', { text: 'version' }), h('dd', { text: lb.version })),
      h('div', null, h('dt', { text: 'LB uptime' }), h('dd', { id: 'lb-uptime', 'data-since': lb.startedAt, text: dur(now() - lb.startedAt) })),
      h('div', null, h('dt', { text: 'mode' }), h('dd', { text: lb.actions ? 'actions enabled' : 'read-only' })),
    ]);
    var s = $('summary');
    s.setAttribute('data-level', state.summary.level);
    s.textContent = state.summary.text;
  }

  // ------------------------------------------------------------------ shard x server grid
  function renderGrid() {
    var grid = $('grid');
    if (!state.configured) { fill(grid, h('caption', { text: 'No shards yet.' })); return; }
    var serverState = {};
    state.servers.forEach(function (s) { serverState[s.name] = s.state; });
    var head = h('tr', null, h('th', { scope: 'col', text: 'Shard' }), state.servers.map(function (s) {
      return h('th', { scope: 'col', 'data-server': s.name }, s.name, h('span', { 'class': 'sub', text: s.state }));
    }), h('th', { scope: 'col', 'class': 'num', text: 'Rows' }), h('th', { scope: 'col', text: 'Replicas serving' }));
    var rows = state.shards.map(function (sh) {
      var byServer = {};
      sh.replicas.forEach(function (r) { byServer[r.server] = r; });
      return h('tr', { 'data-shard': sh.id },
        h('th', { scope: 'row' }, sh.id, h('span', { 'class': 'sub', text: 'keys ' + sh.low + '\u2013' + sh.high })),
        state.servers.map(function (s) {
          var r = byServer[s.name];
          if (!r) return h('td', { 'class': 'none', 'data-server': s.name }, h('span', { 'aria-hidden': 'true', text: '\u00B7' }), h('span', { 'class': 'sr-only', text: 'not placed' }));
          return h('td', { 'data-server': s.name, 'data-state': r.state }, badge(r.state), r.primary ? h('span', { 'class': 'primary', text: '\u2605 primary' }) : null);
        }),
        h('td', { 'class': 'num', text: num(sh.rows) }),
        h('td', { 'data-serving': sh.servingCount }, badge(sh.orphaned ? 'unavailable' : sh.servingCount < sh.replicas.length ? 'degraded' : 'serving',
          ' ' + sh.servingCount + ' of ' + sh.replicas.length)));
    });
    fill(grid, [h('caption', { 'class': 'sr-only', text: 'Each shard (rows) on each server (columns): the replica\'s state' }), h('thead', null, head), h('tbody', null, rows)]);
  }

  // ------------------------------------------------------------------ servers
  function renderServers() {
    var acts = state.lb.actions;
    var body = state.servers.map(function (s) {
      return h('tr', { 'data-server': s.name },
        h('th', { scope: 'row', text: s.name }),
        h('td', { 'class': 'state' }, badge(s.state), s.serving ? null : h('span', { 'class': 'sub', text: 'not serving' }), s.note ? h('span', { 'class': 'sub note', text: s.note }) : null),
        h('td', { 'class': 'addr', text: s.address || '-' }),
        h('td', { text: s.shards.join(', ') }),
        h('td', { 'class': 'num uptime', 'data-since': s.upSince || '', text: s.upSince ? dur(now() - s.upSince) : '-' }),
        h('td', { 'class': 'num hb', text: hbAge(s.name) }),
        acts ? h('td', null,
          h('button', { type: 'button', 'class': 'danger', 'data-focus': 'kill-' + s.name, on: { click: function () { confirmAction('Kill ' + s.name + '? It crashes as with docker kill; the LB detects it, respawns it and copies its shards back.', 'Kill ' + s.name, { path: '/console/kill', method: 'POST', body: { server: s.name } }); } } }, 'Kill'), ' ',
          h('button', { type: 'button', 'data-focus': 'rm-' + s.name, on: { click: function () { confirmAction('Remove ' + s.name + ' from the cluster? Its container and its copies of ' + s.shards.join(', ') + ' are deleted.', 'Remove ' + s.name, { path: '/rm', method: 'DELETE', body: { n: 1, servers: [s.name] } }); } } }, 'Remove')) : null);
    });
    fill($('servers'), [h('caption', { 'class': 'sr-only', text: 'Servers' }),
      h('thead', null, h('tr', null, ['Server', 'State', 'Address', 'Shards'].map(function (t) { return h('th', { scope: 'col', text: t }); }),
        h('th', { scope: 'col', 'class': 'num', text: 'Uptime' }), h('th', { scope: 'col', 'class': 'num', text: 'Heartbeat age' }), acts ? h('th', { scope: 'col', text: 'Actions' }) : null)),
      h('tbody', null, body)]);
    if (acts) renderAddForm();
  }
  function hbAge(name) {
    var t = metrics && metrics.heartbeats ? metrics.heartbeats[name] : null;
    return t ? dur(now() - t) : '-';
  }
  function renderAddForm() {
    var f = $('add-form');
    if (!f || f.getAttribute('data-shards') === state.shards.map(function (s) { return s.id; }).join(',')) return;
    f.setAttribute('data-shards', state.shards.map(function (s) { return s.id; }).join(','));
    fill($('add-shards'), [h('legend', { text: 'shards' }), state.shards.map(function (sh) {
      return h('label', null, h('input', { type: 'checkbox', name: 'shard', value: sh.id }), ' ' + sh.id);
    })]);
  }

  // ------------------------------------------------------------------ throughput and latency
  function spark(reads, writes) {
    var max = 1;
    for (var i = 0; i < 59; i++) max = Math.max(max, reads[i], writes[i]);
    var pts = function (a) {
      var out = [];
      for (var i = 0; i < 59; i++) out.push((i * 2) + ',' + (22 - Math.round((a[i] / max) * 20)));
      return out.join(' ');
    };
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark'); svg.setAttribute('width', '118'); svg.setAttribute('height', '24');
    svg.setAttribute('viewBox', '0 0 118 24'); svg.setAttribute('aria-hidden', 'true');
    [['r', reads], ['w', writes]].forEach(function (x) {
      var p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
      p.setAttribute('class', x[0]); p.setAttribute('points', pts(x[1])); svg.appendChild(p);
    });
    return svg;
  }
  function sum(a) { var s = 0; for (var i = 0; i < 59; i++) s += a[i]; return s; }
  function metricRow(label, m, attrs) {
    // the last entry is the second now running: rates use the last complete second, and the minute before it
    var rps = m.reads[58], wps = m.writes[58];
    return h('tr', attrs,
      h('th', { scope: 'row', text: label }),
      h('td', { 'class': 'num rps', 'data-value': rps, text: rate(rps) }),
      h('td', { 'class': 'num wps', 'data-value': wps, text: rate(wps) }),
      h('td', { 'class': 'num', text: rate(sum(m.reads) / 59) + ' / ' + rate(sum(m.writes) / 59) }),
      h('td', { 'class': 'num', text: ms(m.read.p50) + ' / ' + ms(m.read.p99) }),
      h('td', { 'class': 'num', text: ms(m.write.p50) + ' / ' + ms(m.write.p99) }),
      h('td', null, spark(m.reads, m.writes)));
  }
  function renderMetrics() {
    if (!metrics) return;
    var ids = state && state.configured ? state.shards.map(function (s) { return s.id; }) : [];
    var rows = ids.filter(function (id) { return metrics.shards[id]; }).map(function (id) { return metricRow(id, metrics.shards[id], { 'data-shard': id }); });
    rows.push(metricRow('all requests', metrics.total, { id: 'metrics-total' }));
    fill($('metrics'), [h('caption', { 'class': 'sr-only', text: 'Throughput and latency per shard' }),
      h('thead', null, h('tr', null, h('th', { scope: 'col', text: 'Shard' }),
        h('th', { scope: 'col', 'class': 'num', text: 'Reads/s' }), h('th', { scope: 'col', 'class': 'num', text: 'Writes/s' }),
        h('th', { scope: 'col', 'class': 'num' }, 'Avg r/w per s', h('span', { 'class': 'sub', text: 'last minute' })),
        h('th', { scope: 'col', 'class': 'num' }, 'Read p50 / p99', h('span', { 'class': 'sub', text: 'last minute' })),
        h('th', { scope: 'col', 'class': 'num' }, 'Write p50 / p99', h('span', { 'class': 'sub', text: 'last minute' })),
        h('th', { scope: 'col' }, 'Last minute', h('span', { 'class': 'sub', text: 'reads blue, writes amber' })))),
      h('tbody', null, rows)]);
    document.querySelectorAll('#servers tr[data-server] .hb').forEach(function (td) { td.textContent = hbAge(td.parentNode.getAttribute('data-server')); });
  }

  // ------------------------------------------------------------------ incidents and events
  var STEP = { spawned: 'spawned', configured: 'configured', copied: 'copied', 'caught-up': 'caught up', recreated: 'recreated', serving: 'serving again', 'respawn-failed': 'respawn failed', dropped: 'dropped' };
  function renderIncidents() {
    var list = state.incidents.slice().reverse();
    if (!list.length) { fill($('incidents'), h('li', { 'class': 'empty', text: 'No incidents: no server has failed since the cluster was configured.' })); return; }
    fill($('incidents'), list.map(function (inc) {
      var open = inc.outcome === 'recovering';
      var word = inc.outcome === 'serving' ? 'serving again' : inc.outcome === 'recovering' ? 'recovering (in progress)' : inc.outcome;
      return h('li', { 'data-incident-server': inc.server, 'data-outcome': inc.outcome, 'data-detected': inc.detectedAt },
        h('div', { 'class': 'inc-head' }, h('strong', { text: inc.server }), badge(inc.outcome === 'serving' ? 'serving' : inc.outcome, inc.outcome === 'serving' ? ' again' : open ? ' (in progress)' : ''),
          h('time', { datetime: new Date(inc.detectedAt).toISOString(), text: 'detected ' + clock(inc.detectedAt) })),
        h('div', { 'class': 'inc-times' },
          h('span', { 'class': 'ttd' }, 'time to detect ', h('b', { text: dur(inc.timeToDetectMs) })),
          open ? h('span', { 'class': 'elapsed', 'data-since': inc.detectedAt }, 'recovering for ', h('b', { text: dur(now() - inc.detectedAt) }))
            : h('span', { 'class': 'tts' }, 'time to serving ', h('b', { text: inc.timeToServingMs === undefined ? '-' : dur(inc.timeToServingMs) })),
          h('span', null, 'rows copied ', h('b', { text: num(inc.rowsCopied) }))),
        h('div', { 'class': 'sub', text: 'reason: ' + inc.reason }),
        inc.steps.length ? h('ol', { 'class': 'steps', 'aria-label': 'steps of ' + word },
          inc.steps.map(function (e) { return h('li', null, h('time', { text: '+' + dur(e.t - inc.detectedAt) }), stepText(e)); })) : null);
    }));
  }
  function stepText(e) {
    if (e.kind === 'copied') return 'copied ' + num(e.rows) + ' rows of ' + e.shard + (e.ms !== undefined ? ' in ' + dur(e.ms) : '');
    if (e.kind === 'caught-up') return 'caught up ' + e.shard + ' (' + num(e.rows) + ' rows) by its primary' + (e.ms !== undefined ? ' in ' + dur(e.ms) : '');
    if (e.kind === 'spawned') return 'spawned' + (e.detail ? ' at ' + e.detail : '') + (e.ms !== undefined ? ' (' + dur(e.ms) + ')' : '');
    if (e.kind === 'configured') return 'configured with ' + (e.detail || '');
    return (STEP[e.kind] || e.kind) + (e.kind === 'serving' ? '' : e.detail ? ': ' + e.detail : '');
  }
  function renderEvents() {
    var ev = state.events.slice().reverse();
    if (!ev.length) { fill($('events'), h('li', { 'class': 'empty', text: 'No events yet.' })); return; }
    fill($('events'), ev.map(function (e) {
      return h('li', null, h('time', { datetime: new Date(e.t).toISOString(), text: clock(e.t) }), h('span', { 'class': 'kind', text: e.kind }), ' ',
        [e.server, e.shard].filter(Boolean).join(' '), e.detail ? ' \u2014 ' + e.detail : '');
    }));
  }

  // ------------------------------------------------------------------ configuration
  function renderConfig() {
    var items = [];
    var dd = function (k, v) { items.push(h('dt', { text: k }), h('dd', null, v)); };
    if (state.configured) {
      dd('N (servers)', String(state.N));
      dd('schema', state.schema ? state.schema.columns.map(function (c, i) { return c + ' ' + state.schema.dtypes[i]; }).join(', ') : '-');
      dd('shards', state.shards.map(function (s) { return s.id + ' [' + s.low + ', ' + (s.high + 1) + ')'; }).join('  '));
      dd('placement', state.servers.map(function (s) { return s.name + ': ' + s.shards.join(','); }).join('  '));
    } else dd('database', 'not configured (shardctl init)');
    var st = state.lb.settings;
    for (var k in st) dd(k, String(st[k]));
    dd('LB started', new Date(state.lb.startedAt).toLocaleString());
    fill($('config'), items);
  }

  function render() {
    renderLb(); renderGrid(); renderServers(); renderIncidents(); renderEvents(); renderConfig(); renderMetrics();
  }
  // ages, uptimes and in-progress timers move every second on their own (no request)
  function tick() {
    document.querySelectorAll('[data-since]').forEach(function (el) {
      var t = Number(el.getAttribute('data-since'));
      if (!t) return;
      var b = el.querySelector('b') || el;
      b.textContent = dur(now() - t);
    });
    if (metrics) document.querySelectorAll('#servers tr[data-server] .hb').forEach(function (td) { td.textContent = hbAge(td.parentNode.getAttribute('data-server')); });
  }

  // ------------------------------------------------------------------ actions (only when the LB allows them)
  var pending = null;
  function confirmAction(text, label, req) {
    pending = req;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = label;
    $('confirm').showModal();
  }
  function send(req) {
    var out = $('action-result');
    out.textContent = 'sending\u2026';
    fetch(req.path, { method: req.method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(req.body) })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, b: b }; }); })
      .then(function (x) { out.textContent = (x.ok ? 'done: ' : 'refused: ') + (typeof x.b.message === 'string' ? x.b.message : JSON.stringify(x.b.message)); })
      .catch(function (e) { out.textContent = 'failed: ' + e.message; });
  }
  function setupActions() {
    var dlg = $('confirm');
    dlg.addEventListener('close', function () {
      if (dlg.returnValue === 'ok' && pending) send(pending);
      pending = null;
    });
    var f = $('add-form');
    if (f) f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var name = $('add-name').value.trim() || 'Server[1]';
      var shards = Array.prototype.map.call(f.querySelectorAll('input[name=shard]:checked'), function (i) { return i.value; });
      if (!shards.length) { $('action-result').textContent = 'pick at least one shard for the new server'; return; }
      var servers = {}; servers[name] = shards;
      confirmAction('Add ' + name + ' holding ' + shards.join(', ') + '? The LB spawns it and copies those shards onto it.', 'Add ' + name, { path: '/add', method: 'POST', body: { n: 1, servers: servers } });
    });
  }

  // ------------------------------------------------------------------ the stream
  function connect() {
    var conn = $('conn');
    es = new EventSource('/console/stream');
    es.addEventListener('open', function () { conn.setAttribute('data-conn', 'live'); conn.textContent = 'live'; });
    es.addEventListener('error', function () { conn.setAttribute('data-conn', 'lost'); conn.textContent = 'connection lost: reconnecting\u2026'; });
    es.addEventListener('state', function (m) {
      state = JSON.parse(m.data);
      offset = state.now - Date.now();
      render();
    });
    es.addEventListener('metrics', function (m) {
      metrics = JSON.parse(m.data);
      if (state) renderMetrics();
    });
  }
  setupActions();
  connect();
  setInterval(tick, 1000);
})();
`;
