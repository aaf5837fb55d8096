// The official `@anthropic-ai/sdk` npm client against aigw's response cache (tests/compat/
// anthropic_run.sh starts a second aigw with the cache on and passes its URL in
// AIGW_CACHE_URL). An answer kept from a plain call is replayed to messages.stream(), and a
// streamed one to a plain call, thinking signature included; the SDK's own stream reader
// assembles what it is given.
import assert from 'node:assert/strict';

const mod = await import(process.env.ANTHROPIC_MODULE || '@anthropic-ai/sdk');
const Anthropic = mod.default;
const client = new Anthropic({
    apiKey: 'gw-compat-key-123456', baseURL: process.env.AIGW_CACHE_URL, maxRetries: 0,
});
// Each client version asks its own questions: the cache is shared by the runs.
const tag = process.env.ANTHROPIC_MODULE || '@anthropic-ai/sdk';
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

const weather = {
    name: 'get_weather', description: 'Weather for a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' } } },
};
// What a message says, without what each message mints for itself (its id; a tool_use id's
// per-message suffix).
const said = (m) => ({
    content: m.content.map((b) => (b.type === 'tool_use' ? { ...b, id: b.id.replace(/_[^_]*$/, '') } : b)),
    stop_reason: m.stop_reason,
    input_tokens: m.usage.input_tokens,
    output_tokens: m.usage.output_tokens,
});

await check('a message kept, replayed to messages.stream()', async () => {
    const body = {
        model: 'openai/gpt-tools', max_tokens: 200, tools: [weather],
        messages: [{ role: 'user', content: `Weather in Paris? (${tag})` }],
    };
    const first = await client.messages.create(body).withResponse();
    assert.equal(first.response.headers.get('x-gateway-cache'), 'miss');
    const s = client.messages.stream(body);
    let json = '';
    s.on('inputJson', (partial) => { json += partial; });
    const { response } = await s.withResponse();
    assert.equal(response.headers.get('x-gateway-cache'), 'hit');
    const m = await s.finalMessage();
    assert.deepEqual(said(m), said(first.data));
    assert.equal(m.stop_reason, 'tool_use');
    assert.deepEqual(JSON.parse(json), m.content.find((b) => b.type === 'tool_use').input);
    assert.notEqual(m.id, first.data.id);
});

await check('a stream kept (thinking, signature, cache usage), replayed to a message', async () => {
    const body = {
        model: 'anthropic/claude-thinking', max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: `What is 12 squared? (${tag})` }],
    };
    const s = client.messages.stream(body);
    const { response } = await s.withResponse();
    assert.equal(response.headers.get('x-gateway-cache'), 'miss');
    const streamed = await s.finalMessage();
    const hit = await client.messages.create(body).withResponse();
    assert.equal(hit.response.headers.get('x-gateway-cache'), 'hit');
    const m = hit.data;
    assert.deepEqual(said(m), said(streamed));
    assert.equal(m.content[0].type, 'thinking');
    assert.equal(m.content[0].signature, 'EqQBTestSignatureNotRealAtAll==');
    assert.equal(m.usage.cache_creation_input_tokens, streamed.usage.cache_creation_input_tokens);
});

console.log(`# ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
