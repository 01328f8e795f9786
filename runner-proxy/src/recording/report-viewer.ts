/**
 * The inline viewer of report.html. Plain browser JavaScript, no dependency, no network. Every value
 * from the session reaches the page through textContent, never as HTML. Tables show one page at a
 * time; the first screen (exceptions, statement groups) is drawn from the small summary and the
 * exceptions alone, and every operation is decoded (report-data.ts's encoding) only when a click,
 * a filter or the search needs it.
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
  'col.c-v{width:9em}col.c-n{width:5.5em}col.c-t{width:12.5em}col.c-c{width:8em}col.c-r{width:10em}col.c-x{width:5.5em}',
  // What decides an operation's meaning (its verdicts, its rules) wraps rather than being cut off.
  'td.verdicts,td.wrap{white-space:normal;overflow:visible;text-overflow:clip}td.verdicts .verdict{display:inline-block;margin:0 .2em .1em 0}',
  '.bound{color:#1a7f37;font-weight:600}.unbound{color:#bc4c00;font-weight:600}details pre{max-height:30em;overflow:auto}table.clients td{white-space:normal}',
].join('');

export const VIEWER_SCRIPT = String.raw`(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('govern-data').textContent);
  var VERDICTS = ['allow', 'block', 'approved', 'denied', 'timed out', 'would block', 'would hold', 'held'];
  var ICONS = ['\u2713', '\u2298', '\u2714', '\u2716', '\u29d6', '\u25b2', '\u2016', '\u2026'];
  var G_CONN = 0, G_FP = 1, G_COUNT = 2, G_ROWS = 3, G_MASKED = 4, G_EXC = 5, G_VERDICTS = 6;
  var PAGE = 100;
  var state = { verdict: '', connection: '', rule: '', cls: '', q: '', view: 'groups' };
  var EXC = decodeOps('govern-exceptions');
  var ALL = null;

  /** Zigzag LEB128 varints from base64; "delta" columns are running sums. */
  function column(b64, n, delta) {
    var bin = atob(b64), out = new Array(n), v = 0, scale = 1, k = 0, sum = 0;
    for (var i = 0; i < bin.length; i++) {
      var b = bin.charCodeAt(i);
      v += (b & 127) * scale;
      if (b < 128) {
        var x = v % 2 ? -(v + 1) / 2 : v / 2;
        out[k++] = delta ? (sum += x) : x;
        v = 0; scale = 1;
      } else scale *= 128;
    }
    return out;
  }
  function decodeOps(id) {
    var E = JSON.parse(document.getElementById(id).textContent), n = E.n, S = E.strings, c = {};
    Object.keys(E.cols).forEach(function (k) { c[k] = column(E.cols[k], n, k === 'seq' || k === 'at'); });
    var str = function (i) { return i < 0 ? '' : S[i]; };
    var ops = new Array(n);
    for (var i = 0; i < n; i++) {
      var t = c.template[i], text = E.literals[i];
      if (t >= 0) {
        var parts = S[t].split('\u0000'), lits = text.split('\u0001');
        text = parts[0];
        for (var j = 1; j < parts.length; j++) text += lits[j - 1] + parts[j];
      }
      ops[i] = { seq: c.seq[i], at: c.at[i], conn: str(c.conn[i]), text: text, verdict: c.verdict[i], rule: str(c.rule[i]), classes: str(c.classes[i]),
        dur: c.dur[i] < 0 ? -1 : c.dur[i] / 1000, rows: c.rows[i], tag: str(c.tag[i]), masked: c.masked[i], masks: str(c.masks[i]), group: c.group[i], client: c.client[i], d: c.detail[i] < 0 ? {} : E.details[c.detail[i]] };
    }
    return ops;
  }
  /** Every listed operation in order: the exceptions merged back among the others. */
  function allOps() {
    if (ALL) return ALL;
    var rest = decodeOps('govern-allowed'), out = [], a = 0, b = 0;
    while (a < EXC.length || b < rest.length) out.push(b >= rest.length || (a < EXC.length && EXC[a].seq < rest[b].seq) ? EXC[a++] : rest[b++]);
    return (ALL = out);
  }

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
  function absolute(ms) { return new Date(D.start_ms + ms).toISOString(); }
  function isException(op) { return op.verdict !== 0; }
  function verdictBadge(v, count) {
    var b = el('span', 'verdict v-' + VERDICTS[v].replace(' ', '-'), ICONS[v] + ' ' + VERDICTS[v] + (count !== undefined ? ' \u00d7 ' + num(count) : ''));
    b.title = VERDICTS[v];
    return b;
  }
  function rules(op) { return [op.rule, op.masks && 'masked by ' + op.masks].filter(Boolean).join('; '); }
  function select(name, label, values, labels) {
    var s = el('select');
    s.id = 'filter-' + name;
    s.setAttribute('aria-label', label);
    s.appendChild(el('option', '', 'every ' + label)).value = '';
    for (var i = 0; i < values.length; i++) s.appendChild(el('option', '', labels ? labels[i] : values[i])).value = values[i];
    s.addEventListener('change', function () { state[name] = s.value; render(); });
    return s;
  }
  function filtering() { return state.verdict || state.connection || state.rule || state.cls || state.q; }
  function matches(op) {
    if (state.verdict !== '') {
      if (state.verdict === 'exceptions' ? !isException(op) : VERDICTS[op.verdict] !== state.verdict) return false;
    }
    if (state.connection && op.conn !== state.connection) return false;
    if (state.rule && op.rule !== state.rule && (' ' + op.masks + ' ').indexOf(' ' + state.rule + ' ') < 0) return false;
    if (state.cls && (' ' + op.classes + ' ').indexOf(' ' + state.cls + ' ') < 0) return false;
    if (state.q) {
      var l = op.lower || (op.lower = op.text.toLowerCase());
      if (l.indexOf(state.q) < 0 && rules(op).toLowerCase().indexOf(state.q) < 0) return false;
    }
    return true;
  }

  function detail(op) {
    var d = op.d;
    var dl = el('dl');
    function row(name, value) {
      if (value === undefined || value === null || value === '') return;
      dl.appendChild(el('dt', '', name));
      var dd = dl.appendChild(el('dd'));
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
    }
    row('operation', el('pre', 'full-text', op.text));
    row('verdict', verdictBadge(op.verdict));
    if (d.told) row(op.verdict >= 5 ? 'the job would have been told' : 'the job was told', d.told);
    row('event', '#' + op.seq + ' at ' + absolute(op.at) + ' (+' + clock(op.at) + ')');
    row('connection', op.conn);
    if (op.client >= 0) row('client', D.clients[op.client] || '#' + op.client);
    row('classes', op.classes || 'none');
    if (op.rule) row('rule', op.rule);
    if (op.masks) row('masking rules', op.masks);
    if (op.dur >= 0) row('duration', op.dur + ' ms');
    if (op.tag) row('command tag', op.tag);
    if (op.rows >= 0) row('rows', num(op.rows) + (op.tag && /^(INSERT|UPDATE|DELETE|MERGE|COPY)/.test(op.tag) ? ' affected' : ' returned'));
    if (d.bytes !== undefined) row('bytes', num(d.bytes));
    if (op.masked > 0 || d.masked_by) {
      var by = d.masked_by ? Object.keys(d.masked_by).map(function (k) { return k + ' ' + d.masked_by[k]; }).join(', ') : '';
      row('masked values', num(op.masked) + (by ? ' (' + by + ')' : ''));
    }
    if (d.error) row('error', d.error);
    if (d.approval) {
      var a = d.approval;
      row('approval', a.id + (a.via ? ' via ' + a.via : ''));
      row('requested by', D.requester);
      if (a.outcome) row('decision', a.outcome + (a.by ? ' by ' + a.by : ''));
      if (a.reason) row('reason', a.reason);
      if (a.wait_ms !== undefined) row('waited', (a.wait_ms / 1000).toFixed(1) + ' s');
    }
    return dl;
  }

  function opTable(ops, page, onPage) {
    var wrap = el('div');
    var table = wrap.appendChild(el('table', 'ops'));
    var cols = table.appendChild(el('colgroup'));
    ['c-v', 'c-n', 'c-t', 'c-c', '', 'c-r', 'c-x', 'c-x'].forEach(function (c) { cols.appendChild(el('col', c)); });
    var head = table.appendChild(el('thead')).appendChild(el('tr'));
    ['verdict', 'event', 'time (UTC)', 'connection', 'operation', 'rule', 'rows', 'ms'].forEach(function (h) { head.appendChild(el('th', '', h)); });
    var body = table.appendChild(el('tbody'));
    var start = page * PAGE, end = Math.min(ops.length, start + PAGE);
    for (var i = start; i < end; i++) {
      (function (op) {
        var tr = body.appendChild(el('tr', 'op'));
        tr.dataset.seq = op.seq;
        tr.appendChild(el('td', 'verdicts')).appendChild(verdictBadge(op.verdict));
        tr.appendChild(el('td', '', '#' + op.seq));
        var time = tr.appendChild(el('td', 'wrap', absolute(op.at).slice(11, 23) + ' +' + clock(op.at)));
        time.title = absolute(op.at);
        tr.appendChild(el('td', '', op.conn));
        var text = tr.appendChild(el('td', 'text', short(op.text, 300)));
        text.title = short(op.text, 2000);
        tr.appendChild(el('td', 'wrap', rules(op)));
        tr.appendChild(el('td', '', num(op.rows)));
        tr.appendChild(el('td', '', op.dur >= 0 ? op.dur : ''));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          open = el('tr', 'detail-row');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 8;
          td.appendChild(detail(op));
          tr.after(open);
        });
      })(ops[i]);
    }
    if (ops.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'empty', 'none')).colSpan = 8;
    if (ops.length > PAGE) wrap.appendChild(pager(page, ops.length, onPage));
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

  /** The summary's groups, as rows of the group table. */
  function summaryGroups() {
    return D.groups.map(function (g, i) {
      var verdicts = {};
      for (var v = 0; v < VERDICTS.length; v++) if (g[G_VERDICTS + v]) verdicts[v] = g[G_VERDICTS + v];
      return { index: i, conn: g[G_CONN], fp: g[G_FP], count: g[G_COUNT], rows: g[G_ROWS], masked: g[G_MASKED], exceptions: g[G_EXC], verdicts: verdicts };
    });
  }
  /** Groups of the operations a filter let through (listed ones only). */
  function regroup(ops) {
    var byGroup = {}, list = [];
    for (var i = 0; i < ops.length; i++) {
      var op = ops[i], g = byGroup[op.group];
      if (!g) {
        var s = D.groups[op.group];
        g = byGroup[op.group] = { index: op.group, conn: s[G_CONN], fp: s[G_FP], count: 0, rows: 0, masked: 0, exceptions: 0, verdicts: {}, ops: [] };
        list.push(g);
      }
      g.ops.push(op);
      g.count++;
      g.verdicts[op.verdict] = (g.verdicts[op.verdict] || 0) + 1;
      if (op.rows > 0) g.rows += op.rows;
      g.masked += op.masked;
      if (isException(op)) g.exceptions++;
    }
    return list.sort(function (a, b) { return (b.exceptions > 0) - (a.exceptions > 0) || b.count - a.count; });
  }

  function groupTable(list, page, onPage) {
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
        var vs = tr.appendChild(el('td', 'verdicts'));
        Object.keys(g.verdicts).forEach(function (v) { vs.appendChild(verdictBadge(+v, g.verdicts[v])); });
        tr.appendChild(el('td', 'count', '\u00d7 ' + num(g.count)));
        tr.appendChild(el('td', '', g.conn));
        var text = tr.appendChild(el('td', 'text', short(g.fp, 300)));
        text.title = short(g.fp, 2000);
        tr.appendChild(el('td', '', num(g.rows)));
        tr.appendChild(el('td', '', num(g.masked)));
        var open = null;
        tr.addEventListener('click', function () {
          if (open) { open.remove(); open = null; return; }
          var ops = g.ops || allOps().filter(function (op) { return op.group === g.index; });
          open = el('tr', 'executions');
          var td = open.appendChild(el('td', 'detail'));
          td.colSpan = 6;
          if (ops.length < g.count) td.appendChild(el('p', 'unlisted', num(ops.length) + ' of ' + num(g.count) + ' executions are listed; govern replay shows every one.'));
          var list = td.appendChild(el('div'));
          paged(list, function (p, show) { return opTable(ops, p, show); });
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
  var F = D.filters;
  filters.appendChild(select('verdict', 'verdict', ['exceptions'].concat(F.verdicts), ['exceptions only'].concat(F.verdicts)));
  filters.appendChild(select('connection', 'connection', F.connections));
  filters.appendChild(select('rule', 'rule', F.rules));
  filters.appendChild(select('cls', 'class', F.classes));
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
    main.appendChild(el('h2', '', 'Incidents'));
    var list = main.appendChild(el('ul'));
    list.id = 'incident-list';
    D.incidents.forEach(function (x) { list.appendChild(el('li', 'incidents', x.ts + ' ' + (x.connection || '') + ' ' + x.type + ': ' + x.message)); });
  }
  var operationsTitle = main.appendChild(el('h2', '', 'Statements'));
  var operations = main.appendChild(el('section'));
  operations.id = 'operations';

  function render() {
    var all = null, exc = EXC, count = D.total;
    if (filtering()) {
      all = allOps().filter(matches);
      exc = all.filter(isException);
      count = all.length;
    }
    shown.textContent = num(count) + ' of ' + num(D.total) + ' operations';
    exceptionsTitle.textContent = 'Exceptions (' + num(exc.length) + ')';
    paged(exceptions, function (p, show) { return opTable(exc, p, show); });
    operationsTitle.textContent = state.view === 'groups' ? 'Statements, grouped' : 'Every operation';
    paged(operations, function (p, show) {
      if (state.view !== 'groups') return opTable(all || allOps(), p, show);
      return groupTable(all ? regroup(all) : summaryGroups(), p, show);
    });
  }
  render();
  document.documentElement.setAttribute('data-ready', '1');
})();
`;
