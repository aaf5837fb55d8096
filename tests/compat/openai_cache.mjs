// The official `openai` npm client against aigw's response cache (tests/compat/openai_run.sh
// starts a second aigw with the cache on and passes its URL in AIGW_CACHE_URL). An answer
// kept from a plain call is replayed to the client's streaming helpers, and the reverse, with
// the same text, tool calls and usage; the SDKs' own stream parsers are the judges.
import assert from 'node:assert/strict';

const mod = await import(process.env.OPENAI_MODULE || 'openai');
const OpenAI = mod.default;
// A key of its own per client version, so each run starts with an empty cache.
const client = new OpenAI({
    apiKey: `cache-key-${process.env.OPENAI_MODULE || 'openai'}`,
    baseURL: process.env.AIGW_CACHE_URL + '/v1', maxRetries: 0,
});
let passed = 0, failed = 0;

async function check(name, fn) {
    try {
        await fn();
        passed++;
        console.log(`ok - ${name}`);
    } catch (e) {
        failed++;
        console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    }
}

const tools = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
];
const calls = (m) => (m.tool_calls || []).map((t) => [t.id, t.function.name, t.function.arguments]);

await check('chat: a document kept, replayed to a stream', async () => {
    const body = { model: 'gpt-cache-tools', messages: [{ role: 'user', content: 'Porto?' }], tools };
    const first = await client.chat.completions.create(body).withResponse();
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    const doc = first.data;
    const s = await client.chat.completions.create({
        ...body, stream: true, stream_options: { include_usage: true },
    }).withResponse();
    assert.equal(s.response.headers.get('x-gateway-cache'), 'hit');
    const acc = { content: '', tools: [] };
    let usage = null, finish = null;
    for await (const ch of s.data) {
        if (ch.usage) usage = ch.usage;
        const c = ch.choices[0];
        if (!c) continue;
        if (c.delta.content) acc.content += c.delta.content;
        for (const t of c.delta.tool_calls || []) {
            acc.tools[t.index] ??= { id: '', name: '', args: '' };
            acc.tools[t.index].id += t.id || '';
            acc.tools[t.index].name += t.function?.name || '';
            acc.tools[t.index].args += t.function?.arguments || '';
        }
        if (c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(acc.content, doc.choices[0].message.content || '');
    assert.deepEqual(acc.tools.map((t) => [t.id, t.name, t.args]), calls(doc.choices[0].message));
    assert.equal(calls(doc.choices[0].message).length, 2);
    assert.equal(finish, doc.choices[0].finish_reason);
    assert.deepEqual(usage, doc.usage);
});

await check('chat: a stream kept, replayed to a document and to stream().finalChatCompletion()',
    async () => {
        const body = { model: 'gpt-cache-tools', messages: [{ role: 'user', content: 'Oslo?' }], tools };
        const runner = client.chat.completions.stream({
            ...body, stream_options: { include_usage: true },
        });
        const streamed = await runner.finalChatCompletion();
        const doc = await client.chat.completions.create(body).withResponse();
        assert.equal(doc.response.headers.get('x-gateway-cache'), 'hit');
        const m = doc.data.choices[0].message;
        assert.deepEqual(calls(m), calls(streamed.choices[0].message));
        assert.equal(calls(m).length, 2);
        assert.deepEqual(doc.data.usage, streamed.usage);
        const again = await client.chat.completions.stream({
            ...body, stream_options: { include_usage: true },
        }).finalChatCompletion();
        assert.deepEqual(calls(again.choices[0].message), calls(m));
        assert.deepEqual(again.usage, streamed.usage);
    });

await check('responses: a document kept, replayed to responses.stream()', async () => {
    const body = { model: 'gpt-4o-mini', input: 'Capital of Portugal, cached?' };
    const first = await client.responses.create(body).withResponse();
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    let deltas = '';
    const stream = client.responses.stream(body);
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    const r = await stream.finalResponse();
    assert.equal(r.output_text, first.data.output_text);
    assert.equal(deltas, r.output_text);
    assert.deepEqual(r.usage, first.data.usage);
    assert.notEqual(r.id, first.data.id);
});

console.log(`# ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
