// A few hundred requests through aigw, then: every one is in /admin/logs (found by its
// X-Request-ID) with the tokens the client was told and the catalog's cost, and the
// /admin/usage totals (every grouping) equal the sum of the rows.
import assert from 'node:assert/strict';
import fs from 'node:fs';

const url = process.env.AIGW_URL;
const auth = { Authorization: 'Bearer ' + process.env.AIGW_ADMIN_KEY };
const prices = {};
for (const line of fs.readFileSync(process.env.AIGW_CATALOG, 'utf8').split('\n')) {
  const m = line.match(/^(\{.*\}),?$/);
  if (!m) continue;
  const e = JSON.parse(m[1]);
  prices[e.provider + '/' + e.model] = e;
}

const kinds = [
  { body: { model: 'gpt-4o-mini' }, provider: 'openai', model: 'gpt-4o-mini' },
  { body: { model: 'groq/llama-3.3-70b-versatile' }, provider: 'groq', model: 'llama-3.3-70b-versatile' },
  { body: { model: 'openai/gpt-4o-mini', stream: true, stream_options: { include_usage: true } },
    provider: 'openai', model: 'gpt-4o-mini', stream: true },
  { body: { model: 'openai/bad-request' }, status: 400 },
  { body: { model: 'no-such-model-anywhere' }, status: 404 },
];
const N = 300;
const sent = [];
const msgs = [{ role: 'user', content: 'hello' }];
for (let i = 0; i < N; i += 10) {
  await Promise.all(Array.from({ length: 10 }, async (_, j) => {
    const k = kinds[(i + j) % kinds.length];
    const r = await fetch(url + '/v1/chat/completions', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Object.assign({ messages: msgs }, k.body)),
    });
    const text = await r.text();
    let usage = null;
    if (r.status === 200 && !k.stream) usage = JSON.parse(text).usage;
    if (r.status === 200 && k.stream)
      for (const line of text.split('\n'))
        if (line.startsWith('data: {')) {
          const d = JSON.parse(line.slice(6));
          if (d.usage) usage = d.usage;
        }
    sent.push({ id: r.headers.get('x-request-id'), status: r.status, kind: k, usage });
  }));
}
assert.equal(sent.length, N);
assert.ok(sent.every((s) => s.id), 'every answer has a request id');
for (const s of sent) assert.equal(s.status, s.kind.status || 200, JSON.stringify(s.kind.body));

// The writer is off the request path: wait (with a deadline) until every row is there.
async function allRows() {
  const rows = [];
  let cursor = '';
  for (;;) {
    const r = await fetch(url + '/admin/logs?limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''),
                          { headers: auth });
    assert.equal(r.status, 200);
    const d = await r.json();
    rows.push(...d.data);
    if (!d.has_more) return rows;
    cursor = d.next_cursor;
  }
}
let rows = [];
for (const deadline = Date.now() + 15000; Date.now() < deadline;) {
  rows = await allRows();
  if (rows.length >= N) break;
  await new Promise((r) => setTimeout(r, 100));
}
assert.equal(rows.length, N, 'every request is in the log once');
const byId = new Map(rows.map((r) => [r.request_id, r]));
assert.equal(byId.size, N);

const near = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);
for (const s of sent) {
  const row = byId.get(s.id);
  assert.ok(row, 'request ' + s.id + ' is in the log');
  assert.equal(row.status, s.status);
  assert.equal(row.stream, !!s.kind.stream);
  if (s.status !== 200) {
    assert.ok(row.error_code, 'an error row says why');
    continue;
  }
  assert.equal(row.provider, s.kind.provider);
  assert.ok(s.usage, 'the client saw usage');
  assert.equal(row.input_tokens, s.usage.prompt_tokens, 'input tokens of ' + s.id);
  assert.equal(row.output_tokens, s.usage.completion_tokens, 'output tokens of ' + s.id);
  const cached = (s.usage.prompt_tokens_details || {}).cached_tokens || 0;
  assert.equal(row.cached_tokens, cached);
  const p = prices[s.kind.provider + '/' + s.kind.model];
  const cr = p.cache_read !== undefined ? p.cache_read : p.in;
  const want = ((s.usage.prompt_tokens - cached) * p.in + cached * cr +
                s.usage.completion_tokens * p.out) / 1e6;
  assert.ok(near(row.cost_usd, want), `cost of ${s.id}: ${row.cost_usd} != ${want}`);
}

// Usage totals equal the sum of the rows, whichever way they are grouped.
const sum = (f) => rows.reduce((a, r) => a + (f(r) || 0), 0);
const want = { requests: N, errors: sum((r) => r.status >= 400), input_tokens: sum((r) => r.input_tokens),
               output_tokens: sum((r) => r.output_tokens), cost_usd: sum((r) => r.cost_usd) };
for (const g of ['key', 'model', 'provider', 'day']) {
  const u = await (await fetch(url + '/admin/usage?group_by=' + g, { headers: auth })).json();
  for (const f of Object.keys(want)) {
    assert.ok(near(u.total[f], want[f]), `${g} total ${f}: ${u.total[f]} != ${want[f]}`);
    const parts = u.data.reduce((a, r) => a + r[f], 0);
    assert.ok(near(parts, want[f]), `${g} groups ${f}: ${parts} != ${want[f]}`);
  }
}
console.log(`ok: ${N} requests logged with tokens and cost; usage totals equal the rows`);
