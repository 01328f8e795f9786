/**
 * The inline viewer of report.html. Plain browser JavaScript, no dependency, no network. Every value
 * from the session reaches the page through textContent, never as HTML. Tables show one page at a
 * time so the number of operations does not slow the page down.
 */

export const VIEWER_STYLE = [
  'body{font:14px/1.45 system-ui,sans-serif;margin:0;padding:1em 2em;color:#1b1f24;background:#fff}',
  'h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}',
  'code,pre{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace}pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5em;margin:.2em 0}',
  '.run{padding:.1em .5em;border-radius:.3em;color:#fff;font-size:.8em;text-transform:uppercase}.run-pass{background:#1a7f37}.run-blocked{background:#cf222e}.run-denied{background:#bc4c00}',
  '.mode{font-size:.7em;color:#57606a;border:1px solid #d0d7de;padding:.1em .4em;border-radius:.3em}',
  'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0}dt{color:#57606a}dd{margin:0}',
  '.pill{display:inline-block;padding:0 .45em;border-radius:1em;margin:0 .15em;font-size:.9em}',
  'table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-bottom:1px solid #d8dee4;padding:.25em .4em;text-align:left;vertical-align:top;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}',
  'th{background:#f6f8fa;font-weight:600}tr.op,tr.group{cursor:pointer}tr.op:hover,tr.group:hover{background:#f3f6fa}',
  'td.detail{white-space:normal;background:#fbfcfd}td.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.3em 0}',
  '.v-allow{color:#1a7f37}.v-block{color:#fff;background:#cf222e}.v-approved{color:#fff;background:#8250df}.v-denied,.v-timed-out{color:#fff;background:#bc4c00}.v-would-block{color:#7d4e00;background:#fff8c5;outline:1px solid #d4a72c}.v-would-hold{color:#0550ae;background:#ddf4ff;outline:1px solid #54aeff}.v-held{color:#fff;background:#6e7781}',
  'span.verdict{padding:0 .35em;border-radius:.25em;white-space:nowrap}',
  '.filters{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #d0d7de;z-index:1}',
  '.filters input[type=search]{min-width:18em}.pager{margin:.4em 0;color:#57606a}.pager button{margin:0 .3em}',
  '.empty{color:#57606a;font-style:italic}.incidents{color:#bc4c00}',
  'col.c-v{width:9em}col.c-n{width:5.5em}col.c-t{width:7em}col.c-c{width:8em}col.c-r{width:10em}col.c-x{width:5.5em}',
].join('');

export const VIEWER_SCRIPT = String.raw`(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('govern-data').textContent);
  var S = D.strings, OPS = D.ops, DET = D.details;
  var VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
  var ICONS = ['\u2713', '\u2298', '\u2714', '\u2716', '\u29d6', '\u25b2', '\u2016', '\u2026'];
  var SEQ = 0, AT = 1, CONN = 2, TEXT = 3, FP = 4, VERDICT = 5, RULE = 6, CLASSES = 7, DUR = 8, ROWS = 9, TAG = 10, MASKED = 11;
  var PAGE = 100;
  var identity = (D.session && D.session.identity) || {};
  var claims = identity.claims || {};
  var requester = claims.actor || claims.user_login || identity.subject || (identity.kind === 'none' ? 'the job (no identity)' : 'the job');
  var state = { verdict: '', connection: '', rule: '', cls: '', q: '', view: 'groups' };
  var lower = [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function num(n) { return n < 0 ? '' : n.toLocaleString('en-US'); }
  function short(s, max) { s = s.replace(/\s+/g, ' '); return s.length > max ? s.slice(0, max - 1) + '\u2026' : s; }
  function clock(ms) {
    var m = Math.floor(ms / 60000), s = ((ms % 60000) / 1000).toFixed(3);
    return (m < 10 ? '0' : '') + m + ':' + (s.length < 6 ? '0' : '') + s;
  }
  function isException(op) { return op[VERDICT] !== 0; }
  function verdictBadge(v, count) {
    var b = el('span', 'verdict v-' + VERDICTS[v].replace(' ', '-'), ICONS[v] + ' ' + VERDICTS[v] + (count !== undefined ? ' \u00d7 ' + num(count) : ''));
    b.title = VERDICTS[v];
    return b;
  }
  function distinct(col, split) {
    var seen = {}, out = [];
    for (var i = 0; i < OPS.length; i++) {
      var idx = OPS[i][col];
      if (idx < 0 || seen[idx]) continue;
      seen[idx] = 1;
      var values = split ? S[idx].split(' ') : [S[idx]];
      for (var j = 0; j < values.length; j++) if (values[j] && out.indexOf(values[j]) < 0) out.push(values[j]);
    }
    return out.sort();
  }
  function select(name, label, values, labels) {
    var s = el('select');
    s.id = 'filter-' + name;
    s.setAttribute('aria-label', label);
    s.appendChild(el('option', '', 'every ' + label)).value = '';
    for (var i = 0; i < values.length; i++) s.appendChild(el('option', '', labels ? labels[i] : values[i])).value = values[i];
    s.addEventListener('change', function () { state[name] = s.value; render(); });
    return s;
  }
  function matches(op) {
    if (state.verdict !== '') {
      if (state.verdict === 'exceptions' ? !isException(op) : VERDICTS[op[VERDICT]] !== state.verdict) return false;
    }
    if (state.connection && S[op[CONN]] !== state.connection) return false;
    if (state.rule && (op[RULE] < 0 || S[op[RULE]] !== state.rule)) return false;
    if (state.cls && (' ' + S[op[CLASSES]] + ' ').indexOf(' ' + state.cls + ' ') < 0) return false;
    if (state.q) {
      var t = op[TEXT];
      var l = lower[t] || (lower[t] = S[t].toLowerCase());
      if (l.indexOf(state.q) < 0 && (op[RULE] < 0 || S[op[RULE]].toLowerCase().indexOf(state.q) < 0)) return false;
    }
    return true;
  }

  function detail(op, index) {
    var d = DET[index] || {};
    var dl = el('dl');
    function row(name, value) {
      if (value === undefined || value === null || value === '') return;
      dl.appendChild(el('dt', '', name));
      var dd = dl.appendChild(el('dd'));
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    }
    row('operation', el('pre', 'full-text', S[op[TEXT]]));
    row('verdict', verdictBadge(op[VERDICT]));
    row('event', '#' + op[SEQ] + ' at +' + clock(op[AT]));
    row('connection', S[op[CONN]]);
    row('classes', S[op[CLASSES]] || 'none');
    if (op[RULE] >= 0) row('rule', S[op[RULE]]);
    if (op[DUR] >= 0) row('duration', op[DUR] + ' ms');
    if (op[TAG] >= 0) row('command tag', S[op[TAG]]);
    if (op[ROWS] >= 0) row('rows', num(op[ROWS]) + (op[TAG] >= 0 && /^(INSERT|UPDATE|DELETE|MERGE|COPY)/.test(S[op[TAG]]) ? ' affected' : ' returned'));
    if (d.bytes !== undefined) row('bytes', num(d.bytes));
    if (op[MASKED] > 0 || d.masked_by) {
      var by = d.masked_by ? Object.keys(d.masked_by).map(function (k) { return k + ' ' + d.masked_by[k]; }).join(', ') : '';
      row('masked values', num(op[MASKED]) + (by ? ' (' + by + ')' : ''));
    }
    if (d.error) row('error', d.error);
    if (d.approval) {
      var a = d.approval;
      row('approval', a.id + (a.via ? ' via ' + a.via : ''));
      row('requested by', requester);
      if (a.outcome) row('decision', a.outcome + (a.by ? ' by ' + a.by : ''));
      if (a.reason) row('reason', a.reason);
      if (a.wait_ms !== undefined) row('waited', (a.wait_ms / 1000).toFixed(1) + ' s');
    }
    return dl;
  }

  function opTable(indexes, page, onPage) {
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'ops'));
    var cols = table.appendChild(el('colgroup'));
    ['c-v', 'c-n', 'c-t', 'c-c', '', 'c-r', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdict', 'event', 'time', 'connection', 'operation', 'rule', 'rows', 'ms'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(indexes.length, start + PAGE);
    for (var i = start; i < end; i++) {
      (function (index) {
        var op = OPS[index];
        var tr = body.appendChild(el('tr', 'op'));
        tr.dataset.seq = op[SEQ];
        tr.appendChild(el('td')).appendChild(verdictBadge(op[VERDICT]));
        tr.appendChild(el('td', '', '#' + op[SEQ]));
        tr.appendChild(el('td', '', '+' + clock(op[AT])));
        tr.appendChild(el('td', '', S[op[CONN]]));
        var text = tr.appendChild(el('td', 'text', short(S[op[TEXT]], 300)));
        text.title = short(S[op[TEXT]], 2000);
        tr.appendChild(el('td', '', op[RULE] >= 0 ? S[op[RULE]] : ''));
        tr.appendChild(el('td', '', num(op[ROWS])));
        tr.appendChild(el('td', '', op[DUR] >= 0 ? op[DUR] : ''));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'detail-row');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 8;
          td.appendChild(detail(op, index));
          tr.after(open);
        });
      })(indexes[i]);
    }
    if (indexes.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 8;
    if (indexes.length > PAGE) wrap.appendChild(pager(page, indexes.length, onPage));
    return wrap;
  }

  function pager(page, total, onPage) {
    var p = el('div', 'pager');
    var last = Math.ceil(total / PAGE) - 1;
    var prev = p.appendChild(el('button', 'prev', '\u2190 previous'));
    prev.disabled = page === 0;
    prev.addEventListener('click', function (e) { e.stopPropagation(); onPage(page - 1); });
    p.appendChild(el('span', 'range', num(page * PAGE + 1) + '\u2013' + num(Math.min(total, (page + 1) * PAGE)) + ' of ' + num(total)));
    var next = p.appendChild(el('button', 'next', 'next \u2192'));
    next.disabled = page >= last;
    next.addEventListener('click', function (e) { e.stopPropagation(); onPage(page + 1); });
    return p;
  }

  function paged(container, build) {
    function show(page) { container.textContent = ''; container.appendChild(build(page, show)); }
    show(0);
  }

  function groupTable(indexes, page, onPage) {
    var groups = {}, list = [];
    for (var i = 0; i < indexes.length; i++) {
      var op = OPS[indexes[i]];
      var key = op[FP] + ':' + op[CONN];
      var g = groups[key];
      if (!g) { g = groups[key] = { fp: op[FP], conn: op[CONN], ops: [], verdicts: {}, rows: 0, masked: 0, exceptions: 0 }; list.push(g); }
      g.ops.push(indexes[i]);
      g.verdicts[op[VERDICT]] = (g.verdicts[op[VERDICT]] || 0) + 1;
      if (op[ROWS] > 0) g.rows += op[ROWS];
      g.masked += op[MASKED];
      if (isException(op)) g.exceptions++;
    }
    list.sort(function (a, b) { return (b.exceptions > 0) - (a.exceptions > 0) || b.ops.length - a.ops.length; });
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'groups'));
    var cols = table.appendChild(el('colgroup'));
    ['c-r', 'c-n', 'c-c', '', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdicts', 'count', 'connection', 'statement', 'rows', 'masked'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(list.length, start + PAGE);
    for (var k = start; k < end; k++) {
      (function (g) {
        var tr = body.appendChild(el('tr', 'group'));
        var vs = tr.appendChild(el('td'));
        Object.keys(g.verdicts).forEach(function (v) { vs.appendChild(verdictBadge(+v, g.verdicts[v])); });
        tr.appendChild(el('td', 'count', '\u00d7 ' + num(g.ops.length)));
        tr.appendChild(el('td', '', S[g.conn]));
        var text = tr.appendChild(el('td', 'text', short(S[g.fp], 300)));
        text.title = short(S[g.fp], 2000);
        tr.appendChild(el('td', '', num(g.rows)));
        tr.appendChild(el('td', '', num(g.masked)));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'executions');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 6;
          paged(td, function (p, show) { return opTable(g.ops, p, show); });
          tr.after(open);
        });
      })(list[k]);
    }
    if (list.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 6;
    if (list.length > PAGE) wrap.appendChild(pager(page, list.length, onPage));
    return wrap;
  }

  var main = document.getElementById('viewer');
  main.textContent = '';
  var filters = main.appendChild(el('div', 'filters'));
  var present = VERDICTS.filter(function (v, i) { return OPS.some(function (op) { return op[VERDICT] === i; }); });
  filters.appendChild(select('verdict', 'verdict', ['exceptions'].concat(present), ['exceptions only'].concat(present)));
  filters.appendChild(select('connection', 'connection', distinct(CONN)));
  filters.appendChild(select('rule', 'rule', distinct(RULE)));
  filters.appendChild(select('cls', 'class', distinct(CLASSES, true)));
  var search = filters.appendChild(el('input'));
  search.type = 'search';
  search.id = 'search';
  search.placeholder = 'search statements and rules';
  var timer = 0;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value.trim().toLowerCase(); render(); }, 120);
  });
  var grouping = filters.appendChild(el('label'));
  var toggle = grouping.appendChild(el('input'));
  toggle.type = 'checkbox';
  toggle.id = 'group-toggle';
  toggle.checked = true;
  grouping.appendChild(document.createTextNode(' group by statement'));
  toggle.addEventListener('change', function () { state.view = toggle.checked ? 'groups' : 'all'; render(); });
  var shown = filters.appendChild(el('span', 'shown'));
  shown.id = 'shown';

  var exceptionsTitle = main.appendChild(el('h2', '', 'Exceptions'));
  exceptionsTitle.id = 'exceptions-title';
  var exceptions = main.appendChild(el('section'));
  exceptions.id = 'exceptions';
  if (D.incidents.length) {
    main.appendChild(el('h2', '', 'Connection problems'));
    var list = main.appendChild(el('ul'));
    list.id = 'incident-list';
    D.incidents.forEach(function (x) { list.appendChild(el('li', 'incidents', x.ts + ' ' + (x.connection || '') + ' ' + x.type + ': ' + x.message)); });
  }
  var operationsTitle = main.appendChild(el('h2', '', 'Statements'));
  var operations = main.appendChild(el('section'));
  operations.id = 'operations';

  function render() {
    var all = [], exc = [];
    for (var i = 0; i < OPS.length; i++) {
      if (!matches(OPS[i])) continue;
      all.push(i);
      if (isException(OPS[i])) exc.push(i);
    }
    shown.textContent = num(all.length) + ' of ' + num(OPS.length) + ' operations';
    exceptionsTitle.textContent = 'Exceptions (' + num(exc.length) + ')';
    paged(exceptions, function (p, show) { return opTable(exc, p, show); });
    operationsTitle.textContent = state.view === 'groups' ? 'Statements, grouped' : 'Every operation';
    paged(operations, function (p, show) { return state.view === 'groups' ? groupTable(all, p, show) : opTable(all, p, show); });
  }
  render();
  document.documentElement.setAttribute('data-ready', '1');
})();
`;
