// Drives the console in headless Chromium (Debian's, never a downloaded one): sign in, the
// overview's charts drawn with data, the request log filtered and a row opened, usage,
// a key created (its secret shown once) and revoked, providers and config; a screenshot of
// each page; the config reloaded from its page; no console errors; the script injected
// through a request never ran. It runs in a zone far from UTC (Pacific/Auckland) and also
// checks: times in UTC, errors said and cleared, Next page, key edits sending only changes,
// rotate asking first, sign out clearing a secret, and notes when rows are left out (some
// of these with the API's answer altered through page.route).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { chromium } = require('playwright-core');

const url = process.env.AIGW_URL;
const adminKey = process.env.AIGW_ADMIN_KEY;
const out = process.env.AIGW_OUT;
const XSS = '<script>window.__xss=1</script>';

async function post(body, headers) {
  const r = await fetch(url + '/v1/chat/completions', {
    method: 'POST', headers: Object.assign({ 'content-type': 'application/json' }, headers || {}),
    body: JSON.stringify(body),
  });
  await r.text();
  return r.status;
}

// Traffic: two providers, a stream, an upstream error, an unknown model, and attacker text
// in metadata and in the model name.
const msg = [{ role: 'user', content: 'hello' }];
const seen = {};
for (let i = 0; i < 6; i++) {
  const s = await post({ model: 'gpt-4o-mini', messages: msg, metadata: { note: XSS } });
  seen[s] = (seen[s] || 0) + 1;
  await post({ model: 'groq/llama-3.3-70b-versatile', messages: msg });
  await post({ model: 'gpt-4o-mini', stream: true, messages: msg });
}
assert.equal(await post({ model: 'broken-model', messages: msg }, { 'x-provider': 'openai' }) >= 500, true);
assert.equal(await post({ model: XSS, messages: msg }) >= 400, true);
assert.equal(seen[200], 6, 'the plain requests succeed');

// The log is written off the request path: wait until every request is in it.
const auth = { Authorization: 'Bearer ' + adminKey };
for (let t = 0; ; t++) {
  const d = await (await fetch(url + '/admin/logs?limit=1000', { headers: auth })).json();
  if (d.data.length >= 20) break;
  assert.ok(t < 100, 'the request log got ' + d.data.length + ' of 20 rows');
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await chromium.launch({
  executablePath: process.env.AIGW_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--no-first-run'],
});
const errors = [];
let failed = 0;
try {
  // an operator far from UTC: what the page shows and takes as UTC must be UTC
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 },
                                                 timezoneId: 'Pacific/Auckland' })).newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('page: ' + e.message));
  page.on('request', (r) => {
    if (r.url().includes(adminKey)) errors.push('the admin key went into a URL: ' + r.url());
    if (!r.url().startsWith(url)) errors.push('a request left the gateway: ' + r.url());
  });
  const dialogs = [];
  let answer = true;
  page.on('dialog', (d) => { dialogs.push(d.message()); return answer ? d.accept() : d.dismiss(); });
  const shot = (name) => page.screenshot({ path: path.join(out, name + '.png'), fullPage: true });

  const resp = await page.goto(url + '/admin/');
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-security-policy'], /script-src 'self'/);
  assert.equal(resp.headers()['x-content-type-options'], 'nosniff');
  await shot('signin');

  // A wrong key is refused and nothing is shown.
  await page.fill('#admin-key', 'wrong-key-wrong-key-wrong');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await page.isVisible('#page-overview'), false);
  // the browser reports the refused call itself; that one is expected, nothing else is
  const refused = errors.filter((e) => / 401 /.test(e));
  assert.equal(refused.length, errors.length, String(errors));
  errors.length = 0;

  await page.fill('#admin-key', adminKey);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('body[data-loaded="overview"]');
  assert.equal(page.url().includes(adminKey), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('aigw_admin_key')), adminKey);
  for (const id of ['chart-requests', 'chart-spend', 'chart-latency']) {
    const points = Number(await page.getAttribute('#' + id, 'data-points'));
    assert.ok(points > 1, id + ' has data points');
    // the canvas has ink on it: uPlot drew the series
    const ink = await page.evaluate((i) => {
      const c = document.querySelector('#' + i + ' canvas');
      if (!c) return -1;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let k = 3; k < d.length; k += 4) if (d[k]) n++;
      return n;
    }, id);
    assert.ok(ink > 100, id + ' canvas is drawn (' + ink + ' pixels)');
  }
  const requests = await page.textContent('#overview-kpis div:first-child dd');
  assert.equal(Number(requests.replace(/,/g, '')), 20, 'overview counts every request');
  await shot('overview');
  // the charts' time axis is in UTC like every other time on the page: the legend's time
  // of the newest bucket is the newest request's UTC hour and minute
  const over = await page.$('#chart-requests .u-over');
  const box = await over.boundingBox();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height / 2);
  const legend = await page.textContent('#chart-requests .u-legend .u-series:first-child .u-value');
  const m = legend.match(/(\d+):(\d\d)(?::\d\d)?\s*(am|pm)?/i);
  assert.ok(m, 'the legend shows a time: ' + legend);
  const hm = (Number(m[1]) % 12 + (/pm/i.test(m[3] || '') ? 12 : 0)) * 60 + Number(m[2]);
  const newest = new Date((await (await fetch(url + '/admin/logs?limit=1',
                                              { headers: auth })).json()).data[0].ts_ms);
  const want = newest.getUTCHours() * 60 + newest.getUTCMinutes();
  assert.ok(Math.abs(hm - want) <= 1, 'chart time ' + legend + ' is UTC ' + newest.toISOString());
  await page.mouse.move(0, 0);
  // the daily rollups count whole UTC days: yesterday's traffic (added here to the rollups'
  // answer) is not in the last 24 hours' figures, which come from the requests themselves
  await page.route('**/admin/usage?*', async (r) => {
    const real = await r.fetch();
    const d = await real.json();
    d.total.requests += 1000;
    d.total.errors += 900;
    d.total.cost_usd += 50;
    await r.fulfill({ response: real, json: d });
  });
  await page.evaluate(() => { document.getElementById('overview-kpis').textContent = ''; });
  await page.click('#overview-form button[type=submit]');
  await page.waitForSelector('#overview-kpis div');
  const kpi = async (n) => page.textContent('#overview-kpis div:nth-child(' + n + ') dd');
  assert.deepEqual([await kpi(1), await kpi(2)], ['20', '2'], 'requests and errors in 24 hours');
  assert.ok(!(await kpi(4)).startsWith('$50'), 'spend in 24 hours');
  await page.unroute('**/admin/usage?*');
  // 'Last 7 days' is 7 UTC days, today included: the rollups count each whole day the
  // period touches, so the page asks from midnight six days ago (not now - 7 x 24 h,
  // which touched eight)
  const asked = page.waitForRequest('**/admin/usage?*');
  const sixAgo = () => Math.floor(Date.now() / 86400e3) * 86400e3 - 6 * 86400e3;
  const before = sixAgo();
  await page.selectOption('#overview-period', '7');
  await page.click('#overview-form button[type=submit]');
  const since = Number(new URL((await asked).url()).searchParams.get('since'));
  assert.ok(since === before || since === sixAgo(), 'since ' + new Date(since).toISOString());
  await page.waitForSelector('#overview-note:text-matches("7 UTC days")');
  await page.selectOption('#overview-period', '1');

  const go = async (name) => {
    await page.evaluate(() => { delete document.body.dataset.loaded; });
    await page.click('nav a[data-page="' + name + '"]');
    await page.waitForSelector('body[data-loaded="' + name + '"]');
  };

  await go('logs');
  assert.equal(await page.getAttribute('#logs-table', 'data-rows'), '20');
  // the injected model name is shown as text, not run
  const texts = await page.$$eval('#logs-table td', (tds) => tds.map((t) => t.textContent));
  assert.ok(texts.includes(XSS), 'the model name is shown as text');
  // a filter holding characters a URL escapes ('=', '+', '<', '/', '&') finds its own row
  // and only it
  const filterRows = async () => {
    await page.evaluate(() => { document.getElementById('logs-table').dataset.rows = ''; });
    await page.click('#logs-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('logs-table').dataset.rows !== '');
    return page.$$eval('#logs-table tbody tr', (trs) => trs.map((t) =>
      (t.cells.length > 1 ? t.cells[3] : t.cells[0]).textContent));
  };
  await page.fill('#logs-model', XSS);
  assert.deepEqual(await filterRows(), [XSS], 'the filter by the injected model name');
  await page.fill('#logs-model', 'a+b=c&d');
  assert.deepEqual(await filterRows(), ['No request matches.'], 'a model no request named');
  await page.fill('#logs-model', '');
  // Since / Until are read in UTC, like the Time (UTC) column they are typed from
  assert.equal((await filterRows()).length, 20);
  const times = await page.$$eval('#logs-table tbody tr td:first-child',
    (tds) => tds.map((t) => Date.parse(t.textContent.replace(' ', 'T'))));
  const minute = (ms) => new Date(ms).toISOString().slice(0, 16);
  await page.fill('#logs-since', minute(Math.max(...times) + 60e3));
  assert.deepEqual(await filterRows(), ['No request matches.'], 'since after the newest row');
  await page.fill('#logs-since', minute(Math.min(...times)));
  await page.fill('#logs-until', minute(Math.max(...times) + 60e3));
  assert.equal((await filterRows()).length, 20, 'since the oldest row, until after the newest');
  await page.fill('#logs-since', '');
  await page.fill('#logs-until', '');
  // Next page continues the listing it was given for, even when a filter was changed
  // since (and not applied): pages of 5 rows from the real API
  await page.route('**/admin/logs?*', (r) =>
    r.continue({ url: r.request().url().replace('limit=100', 'limit=5') }));
  assert.equal((await filterRows()).length, 5);
  await page.selectOption('#logs-status', 'error');
  await page.evaluate(() => { document.getElementById('logs-table').dataset.rows = ''; });
  await page.click('#logs-more');
  await page.waitForFunction(() => document.getElementById('logs-table').dataset.rows !== '');
  const ids = await page.$$eval('#logs-table tbody tr td:nth-child(2)',
                                (tds) => tds.map((t) => t.textContent));
  assert.equal(ids.length, 10, 'two pages of the unfiltered listing');
  assert.equal(new Set(ids).size, 10);
  await page.unroute('**/admin/logs?*');
  await page.selectOption('#logs-status', '');
  await page.selectOption('#logs-status', 'error');
  await page.evaluate(() => { document.getElementById('logs-table').dataset.rows = ''; });
  await page.click('#logs-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('logs-table').dataset.rows !== '');
  const statuses = await page.$$eval('#logs-table tbody tr td:nth-child(6)',
                                     (tds) => tds.map((t) => Number(t.textContent)));
  assert.equal(statuses.length, 2, 'two errors: ' + statuses);
  assert.ok(statuses.every((s) => s >= 400));
  await page.click('#logs-table tbody tr:first-child button');
  await page.waitForSelector('#log-detail:not([hidden])');
  const detail = await page.textContent('#log-detail-fields');
  assert.ok(detail.includes('status'));
  // a detail the API refuses (the row aged out, the store is busy) is said, not swallowed
  await page.click('#log-detail-close');
  await page.route('**/admin/logs/*', (r) => r.fulfill({ status: 503,
    contentType: 'application/json',
    body: '{"error":{"message":"the store did not answer in time; retry"}}' }));
  await page.click('#logs-table tbody tr:first-child button');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await page.textContent('#error'), 'the store did not answer in time; retry');
  assert.equal(await page.isVisible('#log-detail'), false);
  await page.unroute('**/admin/logs/*');
  // the browser reports the refused call itself; that one is expected, nothing else is
  assert.deepEqual(errors.filter((e) => !/ 503 /.test(e)), []);
  errors.length = 0;
  await page.click('#logs-table tbody tr:first-child button');
  await page.waitForSelector('#log-detail:not([hidden])');
  await shot('logs');

  await go('usage');
  await page.selectOption('#usage-group', 'provider');
  await page.click('#usage-form button[type=submit]');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#usage-table tbody td:first-child')]
      .some((td) => td.textContent === 'groq'));
  await shot('usage');
  // more groups than the API lists (it keeps the 10,000 busiest): the page says so
  assert.equal(await page.isVisible('#usage-note'), false);
  await page.route('**/admin/usage?*', async (r) => {
    const real = await r.fetch();
    const d = await real.json();
    d.truncated = true;
    await r.fulfill({ response: real, json: d });
  });
  await page.click('#usage-form button[type=submit]');
  await page.waitForSelector('#usage-note:not([hidden])');
  assert.match(await page.textContent('#usage-note'), /busiest/);
  await page.unroute('**/admin/usage?*');

  await go('keys');
  // a refused form is said; the error goes once the next try succeeds
  await page.fill('#key-name', 'n'.repeat(200));
  await page.click('#key-submit');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /at most 127 bytes/);
  assert.deepEqual(errors.filter((e) => !/ 400 /.test(e)), []);
  errors.length = 0;
  await page.fill('#key-name', 'browser-test');
  await page.fill('#key-owner', 'qa');
  await page.fill('#key-rpm', '60');
  await page.fill('#key-budget', '5');
  await page.selectOption('#key-period', 'monthly');
  await page.click('#key-submit');
  await page.waitForSelector('#key-secret:not([hidden])');
  const secret = await page.textContent('#key-secret-value');
  assert.equal(await page.isVisible('#error'), false, 'the earlier error is gone');
  assert.match(secret, /^aigw_[A-Za-z0-9]+_[A-Za-z0-9]+$/);
  const id = secret.split('_')[1];
  await page.waitForSelector('#keys-table tr[data-key="' + id + '"]');
  await shot('keys-secret');
  await page.click('#key-secret-done');
  assert.equal(await page.isVisible('#key-secret'), false);
  assert.equal((await page.content()).includes(secret), false, 'the secret is shown once');
  // signing out while a new secret shows takes it off the page: the next one to sign in
  // on this tab does not see it
  await page.fill('#key-name', 'signed-out');
  await page.click('#key-submit');
  await page.waitForSelector('#key-secret:not([hidden])');
  const secret2 = await page.textContent('#key-secret-value');
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  assert.equal((await page.content()).includes(secret2), false, 'the secret is gone at sign out');
  await page.fill('#admin-key', adminKey);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('body[data-loaded="keys"]');
  assert.equal(await page.isVisible('#key-secret'), false);
  assert.equal((await page.content()).includes(secret2), false, 'the secret is shown once');
  // the key works, then is revoked from the page and stops working
  assert.equal(await post({ model: 'gpt-4o-mini', messages: msg },
                          { Authorization: 'Bearer ' + secret }), 200);
  await page.click('#keys-table tr[data-key="' + id + '"] button.danger');
  await page.waitForSelector('#keys-table tr[data-key="' + id + '"][data-state="revoked"]');
  assert.equal(await post({ model: 'gpt-4o-mini', messages: msg },
                          { Authorization: 'Bearer ' + secret }), 401);
  // editing a key sends what the form changed and nothing else: a key allowed no model
  // (models []) stays so when renamed, and a limit set elsewhere meanwhile is kept
  const api = async (method, p, body) => {
    const r = await fetch(url + p, {
      method, headers: Object.assign({ 'content-type': 'application/json' }, auth),
      body: body ? JSON.stringify(body) : undefined });
    return r.json();
  };
  const frozen = await api('POST', '/admin/keys', { name: 'frozen', models: [], rpm: 10 });
  await go('providers');
  await go('keys');
  const row = '#keys-table tr[data-key="' + frozen.id + '"] ';
  assert.equal(await page.textContent(row + 'td:nth-child(5)'), 'none');
  await page.click(row + 'button[aria-label^="Edit"]');
  assert.equal(await page.inputValue('#key-name'), 'frozen');
  await api('PATCH', '/admin/keys/' + frozen.id, { rpm: 20 });
  await page.fill('#key-name', 'frozen-renamed');
  await page.click('#key-submit');
  await page.waitForSelector(row + 'td:nth-child(2):text-is("frozen-renamed")');
  const after = await api('GET', '/admin/keys/' + frozen.id);
  assert.deepEqual([after.name, after.models, after.rpm], ['frozen-renamed', [], 20]);
  // Rotate ends the current secret at once: it asks first, and a No changes nothing
  answer = false;
  dialogs.length = 0;
  await page.click(row + 'button[aria-label^="Rotate"]');
  assert.equal(dialogs.length, 1, 'rotate asks first');
  assert.match(dialogs[0], /stops working at once/);
  answer = true;
  assert.equal(await page.isVisible('#key-secret'), false);
  const still = await api('GET', '/admin/keys/' + frozen.id);
  assert.equal(still.updated_at, after.updated_at, 'the key was not rotated');
  await page.click(row + 'button[aria-label^="Rotate"]');
  await page.waitForSelector('#key-secret:not([hidden])');
  const rotated = await page.textContent('#key-secret-value');
  assert.ok(rotated.startsWith('aigw_' + frozen.id + '_') && rotated !== frozen.key);
  await page.click('#key-secret-done');
  await shot('keys');

  // more keys than the page loads (10 pages of 1,000): it says so rather than leaving
  // the rest out unsaid, and the page stays responsive with 10,000 rows
  await page.route('**/admin/keys?*', (r) => {
    const after = new URL(r.request().url()).searchParams.get('after') || '';
    const base = after ? Number(after.slice(1)) + 1 : 0;
    const data = Array.from({ length: 1000 }, (_, i) => ({
      id: 'k' + String(base + i).padStart(6, '0'), name: 'n', owner: 'o', models: null,
      rpm: null, tpm: null, budget_usd: null, budget_period: 'none', spend_usd: 0,
      state: 'active', last_used_at: null }));
    return r.fulfill({ json: { object: 'list', data, first_id: data[0].id,
                               last_id: data[999].id, has_more: true } });
  });
  assert.equal(await page.isVisible('#keys-note'), false);
  await go('providers');
  await go('keys');
  assert.equal(await page.$$eval('#keys-table tbody tr', (t) => t.length), 10000);
  assert.match(await page.textContent('#keys-note'), /first 10,000 keys/);
  await page.unroute('**/admin/keys?*');

  await go('providers');
  const provs = await page.$$eval('#providers-table tbody tr', (trs) => trs.map((t) => t.dataset.provider));
  assert.ok(provs.includes('openai') && provs.includes('groq'));
  await shot('providers');

  await go('config');
  const cfg = await page.textContent('#config-json');
  assert.ok(cfg.includes('"key": "***"'), 'the admin key is masked');
  assert.equal(cfg.includes(adminKey), false);
  assert.match(await page.textContent('#config-meta'), /configuration 1 serves/);
  // reloaded from the page (the file unchanged): the next configuration serves
  await page.click('#config-reload-form button[type=submit]');
  await page.waitForFunction(() =>
    /^Reloaded: configuration 2 serves/.test(document.getElementById('config-reload-result').textContent));
  await page.waitForFunction(() =>
    /configuration 2 serves/.test(document.getElementById('config-meta').textContent));
  await shot('config');

  // Too many failed admin sign-ins from this address: the server checks no key until the
  // window ends, so the console must not look signed in (it did until the next refusal).
  // Last, since it locks this address out of the admin API.
  for (let i = 0; i < 10; i++)
    await fetch(url + '/admin/keys', { headers: { Authorization: 'Bearer wrong-' + i } });
  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  await page.fill('#admin-key', adminKey);
  await page.click('#signin-form button[type=submit]');
  await page.waitForFunction(() => /Too many failed sign-ins/.test(
    document.getElementById('error').textContent));
  assert.equal(await page.isVisible('#signin'), true, 'the sign-in form is back');
  assert.equal(await page.isVisible('#nav'), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('aigw_admin_key')), null);
  for (let i = errors.length - 1; i >= 0; i--)
    if (/ 429 /.test(errors[i])) errors.splice(i, 1); // the browser's own report of the 429

  assert.equal(await page.evaluate(() => window.__xss), undefined, 'injected script ran');
  assert.deepEqual(errors, []);
  console.log('ok: console pages, charts, log filter, key create/revoke; screenshots in ' + out);
} catch (e) {
  failed = 1;
  console.error(e);
  if (errors.length) console.error(errors);
} finally {
  await browser.close();
}
process.exit(failed);
