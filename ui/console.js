/* aigw console. Everything shown that came from a request (model names, errors, metadata,
 * bodies) is attacker-controlled: it is only ever put into the page as text (textContent,
 * text nodes, option values), never as HTML. The admin key lives in sessionStorage and goes
 * out only as an Authorization header to this origin. */
'use strict';

(function () {
  const KEY = 'aigw_admin_key';
  const $ = (id) => document.getElementById(id);
  const charts = {};

  /* el('td', {className: 'num'}, 'text', child...) - strings become text nodes. */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'className' || k === 'type' || k === 'hidden' || k === 'id') e[k] = v;
      else e.setAttribute(k, String(v));
    }
    for (const kid of kids) {
      if (kid === null || kid === undefined) continue;
      e.appendChild(typeof kid === 'object' ? kid : document.createTextNode(String(kid)));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function status(msg) { $('status').textContent = msg || ''; }
  function showError(msg) {
    const e = $('error');
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /* A failed action, said on the page (a refused key has already signed out). Every
   * promise a click starts ends here: a rejection nobody catches shows nothing. */
  function report(e) {
    if (!(e instanceof ApiError && e.status === 401)) showError(e.message);
  }

  async function api(path, opts) {
    const key = sessionStorage.getItem(KEY);
    const init = Object.assign({ method: 'GET', headers: {}, cache: 'no-store',
                                 credentials: 'omit' }, opts || {});
    init.headers = Object.assign({ Authorization: 'Bearer ' + key }, init.headers);
    if (init.body !== undefined && typeof init.body !== 'string') {
      init.body = JSON.stringify(init.body);
      init.headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(path, init);
    let doc = null;
    try { doc = await r.json(); } catch (e) { doc = null; }
    if (r.status === 401) {
      signOut('The admin key was refused.');
      throw new ApiError(401, 'signed out');
    }
    /* Too many failed sign-ins from this address: the key was not even checked, so the
     * page must not look signed in with it. (An ApiError of 401 means "signed out".) */
    if (r.status === 429 && doc && doc.error && doc.error.code === 'too_many_failures') {
      const wait = r.headers.get('Retry-After');
      signOut('Too many failed sign-ins from this address: try again' +
              (wait ? ' in ' + wait + ' s.' : ' later.'));
      throw new ApiError(401, 'signed out');
    }
    if (!r.ok) {
      const m = doc && doc.error && doc.error.message ? doc.error.message : 'HTTP ' + r.status;
      throw new ApiError(r.status, m);
    }
    return doc;
  }

  const fmt = {
    int: (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US')),
    usd: (v) => (v === null || v === undefined ? '—' : '$' + Number(v).toFixed(v < 1 ? 6 : 2)),
    ms: (v) => (v === null || v === undefined ? '—' : Math.round(v) + ' ms'),
    pct: (v) => (v === null || v === undefined ? '—' : (100 * v).toFixed(1) + '%'),
    time: (ms) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    unix: (s) => (s ? new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ') : '—'),
  };

  function setHead(table, cols) {
    const thead = table.tHead;
    clear(thead);
    thead.appendChild(el('tr', null, ...cols.map((c) =>
      el('th', { scope: 'col', className: c.num ? 'num' : '' }, c.label))));
    clear(table.tBodies[0]);
    return table.tBodies[0];
  }

  function emptyRow(tbody, n, text) {
    tbody.appendChild(el('tr', null, el('td', { colspan: n }, text)));
  }

  /* ---- pages ----------------------------------------------------------------------- */

  const pages = { overview: loadOverview, usage: loadUsage, logs: () => loadLogs(false),
                  keys: loadKeys, providers: loadProviders, config: loadConfig };

  function currentPage() {
    const h = location.hash.replace('#', '');
    return pages[h] ? h : 'overview';
  }

  async function show() {
    const signedIn = !!sessionStorage.getItem(KEY);
    $('signin').hidden = signedIn;
    $('nav').hidden = !signedIn;
    const page = currentPage();
    for (const sec of document.querySelectorAll('.page'))
      sec.hidden = !signedIn || sec.id !== 'page-' + page;
    for (const a of document.querySelectorAll('nav a'))
      if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    showError('');
    if (!signedIn) return;
    status('Loading ' + page + '…');
    try {
      await pages[page]();
      status('');
      document.body.dataset.loaded = page;
    } catch (e) {
      status('');
      if (!(e instanceof ApiError && e.status === 401)) showError(e.message);
    }
  }

  /* Signing out (or a refused key) leaves nothing read with the key on the page: not a new
   * key's secret, which would show again at the next sign in on this tab, nor request
   * bodies, rows or the configuration. */
  function forget() {
    hideSecret();
    $('log-detail').hidden = true;
    for (const id of ['log-detail-fields', 'log-detail-req', 'log-detail-resp', 'overview-kpis',
                      'config-json', 'config-meta'])
      clear($(id));
    for (const t of document.querySelectorAll('.table-wrap table')) {
      clear(t.tHead);
      clear(t.tBodies[0]);
    }
    resetKeyForm();
  }

  function signOut(why) {
    sessionStorage.removeItem(KEY);
    forget();
    for (const c of Object.values(charts)) c.destroy();
    for (const k of Object.keys(charts)) delete charts[k];
    show();
    if (why) showError(why);
  }

  /* ---- overview -------------------------------------------------------------------- */

  function drawChart(id, xs, series, opts) {
    const host = $(id);
    if (charts[id]) { charts[id].destroy(); delete charts[id]; }
    clear(host);
    host.dataset.points = String(xs.length);
    if (!xs.length) {
      host.appendChild(el('p', { className: 'hint' }, 'No requests in this period.'));
      return;
    }
    const colors = ['#1f5fbf', '#b42318', '#18794e', '#b45309'];
    const width = Math.max(300, host.clientWidth || 420);
    const o = {
      width, height: 220,
      scales: { x: { time: true } },
      /* UTC, like every other time on the page (uPlot's default is the browser's zone) */
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      series: [{}].concat(series.map((s, i) => ({
        label: s.label, stroke: colors[i % colors.length], width: 2,
        points: { show: xs.length < 60 }, spanGaps: true, value: (u, v) => (v === null ? '—' : opts.fmt(v)),
      }))),
      axes: [{}, { values: (u, ticks) => ticks.map(opts.fmt), size: 70 }],
    };
    charts[id] = new uPlot(o, [xs].concat(series.map((s) => s.data)), host);
  }

  /* The last 24 hours from the raw log (at most 5,000 rows, bucketed), its totals too when
   * that is every request: the rollups count whole UTC days, so theirs would add the rest of
   * yesterday. Longer periods from the daily rollups. */
  async function overviewSeries(days) {
    const since = Date.now() - days * 86400e3;
    if (days > 1) {
      /* the rollups count every whole day the period touches: from midnight days - 1 ago,
       * so that it is days UTC days, today included */
      const from = Math.floor(Date.now() / 86400e3) * 86400e3 - (days - 1) * 86400e3;
      const u = await api('/admin/usage?group_by=day&since=' + from);
      const rows = u.data;
      return {
        total: u.total,
        note: 'Daily figures from the rollups: the last ' + days + ' UTC days, today included.',
        xs: rows.map((r) => Date.parse(r.group + 'T00:00:00Z') / 1000),
        req: rows.map((r) => r.requests), err: rows.map((r) => r.errors),
        cost: rows.map((r) => r.cost_usd),
        p50: rows.map((r) => r.latency_p50_ms), p95: rows.map((r) => r.latency_p95_ms),
        ttfb: rows.map((r) => r.ttfb_p50_ms),
      };
    }
    const rows = [];
    let cursor = '';
    for (let page = 0; page < 5; page++) {
      const d = await api('/admin/logs?limit=1000&since=' + Math.floor(since) +
                          (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      rows.push(...d.data);
      if (!d.has_more) { cursor = ''; break; }
      cursor = d.next_cursor;
    }
    const q = (a, p) => {
      if (!a.length) return null;
      const s = a.slice().sort((m, n) => m - n);
      return s[Math.min(s.length - 1, Math.floor(p * s.length))];
    };
    let total;
    if (cursor) {
      total = (await api('/admin/usage?group_by=day&since=' + Math.floor(since))).total;
    } else {
      const sum = (f) => rows.reduce((a, r) => a + (r[f] || 0), 0);
      const errors = rows.filter((r) => r.status >= 400).length;
      total = { requests: rows.length, errors, error_rate: rows.length ? errors / rows.length : null,
                cost_usd: sum('cost_usd'), input_tokens: sum('input_tokens'),
                output_tokens: sum('output_tokens'),
                latency_p50_ms: q(rows.map((r) => r.latency_ms), 0.5),
                latency_p95_ms: q(rows.map((r) => r.latency_ms), 0.95),
                ttfb_p50_ms: q(rows.filter((r) => r.ttfb_ms !== null).map((r) => r.ttfb_ms), 0.5) };
    }
    if (!rows.length) return { total, xs: [], note: '' };
    const t0 = rows[rows.length - 1].ts_ms, t1 = rows[0].ts_ms;
    const step = Math.max(1000, Math.ceil((t1 - t0 + 1) / 48 / 1000) * 1000);
    const buckets = new Map();
    for (const r of rows) {
      const b = Math.floor(r.ts_ms / step) * step;
      if (!buckets.has(b)) buckets.set(b, { req: 0, err: 0, cost: 0, lat: [], ttfb: [] });
      const x = buckets.get(b);
      x.req++;
      if (r.status >= 400) x.err++;
      if (r.cost_usd) x.cost += r.cost_usd;
      x.lat.push(r.latency_ms);
      if (r.ttfb_ms !== null) x.ttfb.push(r.ttfb_ms);
    }
    /* every bucket from the first to the last (at least 30), empty ones as zero, so a
     * burst shows as a rise and fall rather than one dot */
    const last = Math.floor(t1 / step) * step;
    const first = Math.min(Math.floor(t0 / step) * step, last - 29 * step);
    const empty = { req: 0, err: 0, cost: 0, lat: [], ttfb: [] };
    const keys = [];
    for (let k = first; k <= last; k += step) keys.push(k);
    const get = (f) => keys.map((k) => f(buckets.get(k) || empty));
    return {
      total,
      note: 'Charts from the latest ' + rows.length + ' requests' +
            (cursor ? ' (more exist)' : '') + ', in ' + step / 1000 + ' s buckets; ' +
            (cursor ? 'totals from the daily rollups, yesterday and today (UTC).'
                    : 'totals from these requests.'),
      xs: keys.map((k) => k / 1000),
      req: get((b) => b.req), err: get((b) => b.err), cost: get((b) => b.cost),
      p50: get((b) => q(b.lat, 0.5)), p95: get((b) => q(b.lat, 0.95)),
      ttfb: get((b) => q(b.ttfb, 0.5)),
    };
  }

  async function loadOverview() {
    const s = await overviewSeries(Number($('overview-period').value));
    const kp = $('overview-kpis');
    clear(kp);
    const t = s.total || {};
    const tiles = [['Requests', fmt.int(t.requests)], ['Errors', fmt.int(t.errors)],
                   ['Error rate', fmt.pct(t.error_rate)], ['Spend', fmt.usd(t.cost_usd)],
                   ['Input tokens', fmt.int(t.input_tokens)],
                   ['Output tokens', fmt.int(t.output_tokens)],
                   ['Latency p50 / p95', fmt.ms(t.latency_p50_ms) + ' / ' + fmt.ms(t.latency_p95_ms)],
                   ['TTFB p50', fmt.ms(t.ttfb_p50_ms)]];
    for (const [k, v] of tiles) kp.appendChild(el('div', null, el('dt', null, k), el('dd', null, v)));
    $('overview-note').textContent = s.note;
    drawChart('chart-requests', s.xs, [{ label: 'requests', data: s.req || [] },
                                       { label: 'errors', data: s.err || [] }], { fmt: fmt.int });
    drawChart('chart-spend', s.xs, [{ label: 'spend', data: s.cost || [] }],
              { fmt: (v) => '$' + Number(v).toFixed(4) });
    drawChart('chart-latency', s.xs, [{ label: 'latency p50', data: s.p50 || [] },
                                      { label: 'latency p95', data: s.p95 || [] },
                                      { label: 'TTFB p50', data: s.ttfb || [] }],
              { fmt: (v) => Math.round(v) + ' ms' });
  }

  /* ---- usage ----------------------------------------------------------------------- */

  async function loadUsage() {
    const g = $('usage-group').value;
    if (!$('usage-since').value) {
      $('usage-since').value = new Date(Date.now() - 29 * 86400e3).toISOString().slice(0, 10);
      $('usage-until').value = new Date().toISOString().slice(0, 10);
    }
    const p = new URLSearchParams({ group_by: g });
    if ($('usage-since').value) p.set('since', $('usage-since').value);
    if ($('usage-until').value)
      p.set('until', new Date(Date.parse($('usage-until').value) + 86400e3).toISOString().slice(0, 10));
    const u = await api('/admin/usage?' + p);
    const cols = [{ label: g }, { label: 'Requests', num: 1 }, { label: 'Error rate', num: 1 },
                  { label: 'Cache hits', num: 1 },
                  { label: 'Input tokens', num: 1 }, { label: 'Output tokens', num: 1 },
                  { label: 'Cost', num: 1 }, { label: 'Latency p50', num: 1 },
                  { label: 'Latency p95', num: 1 }, { label: 'TTFB p50', num: 1 },
                  { label: 'TTFB p95', num: 1 }];
    const tb = setHead($('usage-table'), cols);
    const row = (r, total) => el('tr', total ? { className: 'total' } : null,
      el(total ? 'th' : 'td', total ? { scope: 'row' } : null, r.group || '(none)'),
      el('td', { className: 'num' }, fmt.int(r.requests)),
      el('td', { className: 'num' }, fmt.pct(r.error_rate)),
      /* hits count as requests, but none of their replayed tokens nor any cost */
      el('td', { className: 'num' }, fmt.int(r.cache_hits)),
      el('td', { className: 'num' }, fmt.int(r.input_tokens)),
      el('td', { className: 'num' }, fmt.int(r.output_tokens)),
      el('td', { className: 'num' }, fmt.usd(r.cost_usd)),
      el('td', { className: 'num' }, fmt.ms(r.latency_p50_ms)),
      el('td', { className: 'num' }, fmt.ms(r.latency_p95_ms)),
      el('td', { className: 'num' }, fmt.ms(r.ttfb_p50_ms)),
      el('td', { className: 'num' }, fmt.ms(r.ttfb_p95_ms)));
    $('usage-note').hidden = !u.truncated;
    if (!u.data.length) emptyRow(tb, cols.length, 'No requests in this period.');
    for (const r of u.data) tb.appendChild(row(r, false));
    tb.appendChild(row(u.total, true));
  }

  /* ---- request log ----------------------------------------------------------------- */

  /* The next page continues the listing shown: its filters as they were applied, not as the
   * form holds them now (a cursor from one filter under another skips or repeats rows). */
  let logsCursor = '', logsParams = null;

  function logsQuery() {
    const p = new URLSearchParams({ limit: '100' });
    for (const f of ['key', 'model', 'provider', 'status']) {
      const v = $('logs-' + f).value.trim();
      if (v) p.set(f, v);
    }
    /* a datetime-local value has no zone and Date.parse would read it in the browser's:
     * these are UTC, like the Time (UTC) column they are typed from */
    for (const f of ['since', 'until']) {
      const v = $('logs-' + f).value;
      if (v) p.set(f, String(Date.parse(v + 'Z')));
    }
    return p;
  }

  async function loadLogs(more) {
    const p = more && logsParams ? new URLSearchParams(logsParams) : logsQuery();
    const asked = new URLSearchParams(p);
    if (more && logsCursor) p.set('cursor', logsCursor);
    const d = await api('/admin/logs?' + p);
    if (!more) logsParams = asked;
    const cols = [{ label: 'Time (UTC)' }, { label: 'Request id' }, { label: 'Key' },
                  { label: 'Model' }, { label: 'Provider' }, { label: 'Status', num: 1 },
                  { label: 'Stream' }, { label: 'Tokens in / out', num: 1 },
                  { label: 'Cost', num: 1 }, { label: 'Latency', num: 1 }, { label: 'Error' }];
    let tb = $('logs-table').tBodies[0];
    if (!more) tb = setHead($('logs-table'), cols);
    if (!more && !d.data.length) emptyRow(tb, cols.length, 'No request matches.');
    for (const r of d.data) {
      const open = el('button', { type: 'button', className: 'secondary',
                                  onclick: () => showLog(r.request_id).catch(report),
                                  'aria-label': 'Details of request ' + r.request_id },
                      r.request_id);
      tb.appendChild(el('tr', null,
        el('td', null, fmt.time(r.ts_ms)), el('td', null, open), el('td', null, r.key_id || '—'),
        el('td', null, r.model_served || r.model_asked), el('td', null, r.provider || '—'),
        el('td', { className: 'num ' + (r.status >= 400 ? 'bad' : 'ok') }, r.status),
        el('td', null, r.stream ? 'yes' : 'no'),
        el('td', { className: 'num' }, fmt.int(r.input_tokens) + ' / ' + fmt.int(r.output_tokens)),
        el('td', { className: 'num' }, fmt.usd(r.cost_usd)),
        el('td', { className: 'num' }, fmt.ms(r.latency_ms)), el('td', null, r.error_code || '')));
    }
    logsCursor = d.has_more ? d.next_cursor : '';
    $('logs-more').hidden = !d.has_more;
    $('logs-table').dataset.rows = String(tb.rows.length);
  }

  async function showLog(id) {
    showError('');
    const r = await api('/admin/logs/' + encodeURIComponent(id));
    const dl = $('log-detail-fields');
    clear(dl);
    const fields = ['request_id', 'ts_ms', 'key_id', 'dialect', 'endpoint', 'model_asked',
                    'model_served', 'provider', 'attempts', 'failures', 'status', 'stream',
                    'input_tokens', 'output_tokens', 'cached_tokens', 'reasoning_tokens',
                    'cost_usd', 'latency_ms', 'ttfb_ms', 'cache_hit', 'guardrail', 'error_code'];
    for (const f of fields) {
      let v = r[f];
      if (f === 'ts_ms') v = fmt.time(v);
      dl.appendChild(el('dt', null, f));
      dl.appendChild(el('dd', null, v === null || v === undefined ? '—' : String(v)));
    }
    $('log-detail-req').textContent = r.request_body === null || r.request_body === undefined
      ? '(not kept: log.bodies is off)' : r.request_body;
    $('log-detail-resp').textContent = r.response_body === null || r.response_body === undefined
      ? '(not kept: log.bodies is off)' : r.response_body;
    $('log-detail').hidden = false;
    $('log-detail-h').focus();
  }

  /* ---- keys ------------------------------------------------------------------------ */

  function hideSecret() {
    $('key-secret-value').textContent = '';
    $('key-secret').hidden = true;
  }

  function showSecret(token) {
    $('key-secret-value').textContent = token;
    $('key-secret').hidden = false;
    $('key-secret-done').focus();
  }

  /* The form's fields, by the body field each one sets. */
  const KEY_FIELDS = { name: 'key-name', owner: 'key-owner', models: 'key-models', rpm: 'key-rpm',
                       tpm: 'key-tpm', budget_usd: 'key-budget', budget_period: 'key-period' };
  /* The fields as editKey filled them: a save sends only what differs. Sending them all would
   * turn a key allowed no model (models []: the form shows it empty) into one allowed any
   * (null), and undo a limit changed elsewhere since the form was filled. */
  let keyFilled = null;

  function resetKeyForm() {
    keyFilled = null;
    $('key-form').reset();
    $('key-id').value = '';
    $('key-form-legend').textContent = 'Create a key';
    $('key-submit').textContent = 'Create key';
    $('key-cancel').hidden = true;
  }

  function editKey(k) {
    $('key-id').value = k.id;
    $('key-name').value = k.name || '';
    $('key-owner').value = k.owner || '';
    $('key-models').value = k.models ? k.models.join(', ') : '';
    $('key-rpm').value = k.rpm === null ? '' : k.rpm;
    $('key-tpm').value = k.tpm === null ? '' : k.tpm;
    $('key-budget').value = k.budget_usd === null ? '' : k.budget_usd;
    $('key-period').value = k.budget_period;
    keyFilled = {};
    for (const [f, input] of Object.entries(KEY_FIELDS)) keyFilled[f] = $(input).value;
    $('key-form-legend').textContent = 'Edit key ' + k.id;
    $('key-submit').textContent = 'Save changes';
    $('key-cancel').hidden = false;
    $('key-name').focus();
  }

  async function keyAction(what, k) {
    if (what === 'revoke' && !window.confirm('Revoke key ' + k.id + '? Clients using it stop at once.'))
      return;
    /* grace 0: the secret clients hold stops working at once, as a revoke does (a rotation
     * with a grace period is the API's or aigw keys rotate --grace) */
    if (what === 'rotate' && !window.confirm('Rotate key ' + k.id + '? Its current secret ' +
                                             'stops working at once; clients need the new one.'))
      return;
    showError('');
    try {
      if (what === 'revoke') {
        await api('/admin/keys/' + encodeURIComponent(k.id), { method: 'DELETE' });
        status('Key ' + k.id + ' revoked.');
      } else {
        const r = await api('/admin/keys/' + encodeURIComponent(k.id) + '/rotate',
                            { method: 'POST', body: { grace_seconds: 0 } });
        showSecret(r.key);
        status('Key ' + k.id + ' rotated.');
      }
      await loadKeys();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) showError(e.message);
    }
  }

  /* At most KEYS_MAX keys (10 calls): more would make the page too slow to use. Past that the
   * page says so; the rest are in the API and `aigw keys`. */
  const KEYS_MAX = 10000;

  async function loadKeys() {
    const all = [];
    let after = '', more = false;
    do {
      const d = await api('/admin/keys?limit=1000' + (after ? '&after=' + encodeURIComponent(after) : ''));
      all.push(...d.data);
      more = d.has_more && !!d.last_id;
      after = d.last_id;
    } while (more && all.length < KEYS_MAX);
    $('keys-note').hidden = !more;
    $('keys-note').textContent = 'Showing the first ' + fmt.int(all.length) + ' keys (by id); ' +
      'the others are in GET /admin/keys and aigw keys list.';
    const cols = [{ label: 'Id' }, { label: 'Name' }, { label: 'Owner' }, { label: 'State' },
                  { label: 'Models' }, { label: 'RPM', num: 1 }, { label: 'TPM', num: 1 },
                  { label: 'Budget', num: 1 }, { label: 'Spend', num: 1 },
                  { label: 'Last used' }, { label: 'Actions' }];
    const tb = setHead($('keys-table'), cols);
    if (!all.length) emptyRow(tb, cols.length, 'No keys yet.');
    for (const k of all) {
      const active = k.state === 'active';
      const actions = el('td', null);
      if (k.state !== 'revoked') { /* an expired key can still be edited, rotated, revoked */
        actions.appendChild(el('button', { type: 'button', className: 'secondary',
          onclick: () => editKey(k), 'aria-label': 'Edit ' + k.id }, 'Edit'));
        actions.appendChild(document.createTextNode(' '));
        actions.appendChild(el('button', { type: 'button', className: 'secondary',
          onclick: () => keyAction('rotate', k), 'aria-label': 'Rotate ' + k.id }, 'Rotate'));
        actions.appendChild(document.createTextNode(' '));
        actions.appendChild(el('button', { type: 'button', className: 'danger',
          onclick: () => keyAction('revoke', k), 'aria-label': 'Revoke ' + k.id }, 'Revoke'));
      }
      tb.appendChild(el('tr', { dataset: { key: k.id, state: k.state } },
        el('td', null, k.id), el('td', null, k.name), el('td', null, k.owner),
        el('td', { className: active ? 'ok' : 'bad' }, k.state),
        el('td', null, !k.models ? 'any' : k.models.length ? k.models.join(', ') : 'none'),
        el('td', { className: 'num' }, k.rpm === null ? '∞' : fmt.int(k.rpm)),
        el('td', { className: 'num' }, k.tpm === null ? '∞' : fmt.int(k.tpm)),
        el('td', { className: 'num' }, k.budget_usd === null ? '—'
          : fmt.usd(k.budget_usd) + ' ' + k.budget_period),
        el('td', { className: 'num' }, fmt.usd(k.spend_usd)),
        el('td', null, fmt.unix(k.last_used_at)), actions));
    }
  }

  async function submitKey(ev) {
    ev.preventDefault();
    showError('');
    const id = $('key-id').value;
    const num = (v) => (v.trim() === '' ? null : Number(v));
    const models = $('key-models').value.split(',').map((s) => s.trim()).filter(Boolean);
    const body = {
      name: $('key-name').value, owner: $('key-owner').value,
      models: models.length ? models : null,
      rpm: num($('key-rpm').value), tpm: num($('key-tpm').value),
      budget_usd: num($('key-budget').value), budget_period: $('key-period').value,
    };
    if (id && keyFilled)
      for (const [f, input] of Object.entries(KEY_FIELDS))
        if ($(input).value === keyFilled[f]) delete body[f];
    try {
      if (id && !Object.keys(body).length) {
        status('Key ' + id + ': nothing changed.');
      } else if (id) {
        await api('/admin/keys/' + encodeURIComponent(id), { method: 'PATCH', body });
        status('Key ' + id + ' saved.');
      } else {
        const r = await api('/admin/keys', { method: 'POST', body });
        showSecret(r.key);
        status('Key ' + r.id + ' created.');
      }
      resetKeyForm();
      await loadKeys();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401)) showError(e.message);
    }
  }

  /* ---- providers and config -------------------------------------------------------- */

  async function loadProviders() {
    const d = await api('/admin/providers');
    $('providers-note').textContent = 'Strategy: ' + d.strategy + '. Breakers open after ' +
      d.breaker_threshold + ' consecutive failures for ' + d.breaker_cooldown_ms + ' ms. ' +
      'Recent figures cover yesterday and today (UTC).';
    const cols = [{ label: 'Provider' }, { label: 'Active' }, { label: 'Breaker' },
                  { label: 'Targets' }, { label: 'Requests', num: 1 },
                  { label: 'Error rate', num: 1 }, { label: 'Latency p50', num: 1 },
                  { label: 'Latency p95', num: 1 }];
    const tb = setHead($('providers-table'), cols);
    for (const p of d.data) {
      const targets = p.targets.map((t) => t.model + ': ' + t.breaker +
        (t.latency_p50_ms !== null ? ' (' + t.latency_p50_ms + ' ms)' : '')).join('; ');
      const r = p.recent || {};
      tb.appendChild(el('tr', { dataset: { provider: p.provider } },
        el('th', { scope: 'row' }, p.name + ' (' + p.provider + ')'),
        el('td', { className: p.active ? 'ok' : '' }, p.active ? 'yes' : 'no: ' + (p.inactive_reason || '')),
        el('td', { className: p.breaker === 'closed' ? 'ok' : 'bad' }, p.breaker),
        el('td', null, targets || '—'),
        el('td', { className: 'num' }, fmt.int(r.requests)),
        el('td', { className: 'num' }, fmt.pct(r.error_rate)),
        el('td', { className: 'num' }, fmt.ms(r.latency_p50_ms)),
        el('td', { className: 'num' }, fmt.ms(r.latency_p95_ms))));
    }
  }

  async function loadConfig() {
    const d = await api('/admin/config');
    $('config-json').textContent = JSON.stringify(d.config, null, 2);
    $('config-meta').textContent = 'Read from ' + (d.source || '(no file)') +
      (d.generation ? '; configuration ' + d.generation + ' serves new requests' : '');
    const pending = Array.isArray(d.needs_restart) ? d.needs_restart : [];
    $('config-pending').hidden = pending.length === 0;
    $('config-pending').textContent = 'Changed in the file, applied at the next restart: ' +
      pending.join(', ');
  }

  /* POST /admin/config/reload; its outcome (the file's error included) is shown as text. */
  async function reloadConfig() {
    const out = $('config-reload-result');
    out.textContent = 'Reloading…';
    try {
      const d = await api('/admin/config/reload', { method: 'POST', body: '' });
      out.textContent = 'Reloaded: configuration ' + d.generation + ' serves new requests.' +
        (d.needs_restart && d.needs_restart.length
          ? ' Needs a restart: ' + d.needs_restart.join(', ') + '.' : '');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) throw e;
      out.textContent = 'Refused, nothing changed: ' + e.message;
    }
    await loadConfig();
  }

  /* ---- wiring ---------------------------------------------------------------------- */

  document.addEventListener('DOMContentLoaded', () => {
    $('signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $('admin-key').value);
      $('admin-key').value = '';
      show();
    });
    $('signout').addEventListener('click', () => signOut(''));
    window.addEventListener('hashchange', show);
    const run = (f) => (ev) => {
      if (ev) ev.preventDefault();
      showError(''); /* an earlier failure does not stand beside this answer */
      f().catch((e) => { if (!(e instanceof ApiError && e.status === 401)) showError(e.message); });
    };
    $('overview-form').addEventListener('submit', run(loadOverview));
    $('usage-form').addEventListener('submit', run(loadUsage));
    $('logs-form').addEventListener('submit', run(() => loadLogs(false)));
    $('logs-more').addEventListener('click', run(() => loadLogs(true)));
    $('log-detail-close').addEventListener('click', () => { $('log-detail').hidden = true; });
    $('log-detail-h').setAttribute('tabindex', '-1');
    $('key-form').addEventListener('submit', submitKey);
    $('config-reload-form').addEventListener('submit', run(reloadConfig));
    $('key-cancel').addEventListener('click', resetKeyForm);
    $('key-secret-done').addEventListener('click', hideSecret);
    show();
  });
})();
