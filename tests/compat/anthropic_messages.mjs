// The official `@anthropic-ai/sdk` npm client against aigw's /v1/messages (tests/compat/
// anthropic_run.sh starts aigw in front of the mock provider and passes its URL). One client
// version per run: ANTHROPIC_MODULE names the installed package (@anthropic-ai/sdk, or an npm
// alias of another version). 0.x sends x-api-key and anthropic-version 2023-06-01; 1.x sends
// Authorization: Bearer and 2026-10-21. The gateway key is checked, so both must pass it.
import assert from 'node:assert/strict';

const mod = await import(process.env.ANTHROPIC_MODULE || '@anthropic-ai/sdk');
const Anthropic = mod.default;
const client = new Anthropic({
    apiKey: 'gw-compat-key-123456', baseURL: process.env.AIGW_URL, maxRetries: 0,
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

const weather = {
    name: 'get_weather', description: 'Weather for a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } } },
};
const ask = [{ role: 'user', content: 'Hello there' }];

await check('messages.create', async () => {
    const m = await client.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 200, messages: ask });
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.match(m.id, /^msg_/);
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, 'Hello from the aigw mock provider. This answer was served from a local fixture.');
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.input_tokens, 14);
    assert.equal(m.usage.output_tokens, 17);
    assert.ok(m._request_id === undefined || typeof m._request_id === 'string' || m._request_id === null);
});

await check('messages.stream().finalMessage() with usage from message_start', async () => {
    const s = client.messages.stream({ model: 'openai/gpt-4o-mini', max_tokens: 200, messages: ask });
    let startInput = -1, text = '';
    s.on('streamEvent', (ev) => {
        if (ev.type === 'message_start') startInput = ev.message.usage.input_tokens;
    });
    s.on('text', (t) => { text += t; });
    const m = await s.finalMessage();
    assert.ok(startInput > 0, `message_start input_tokens ${startInput}`);
    assert.equal(text, 'Hello from the aigw mock provider. This stream was served from a local fixture.');
    assert.equal(m.content[0].text, text);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.output_tokens, 16);
    assert.equal(m.usage.input_tokens, 14, 'the upstream count replaces the estimate');
});

let toolUse;
await check('messages.create with tools', async () => {
    const m = await client.messages.create({
        model: 'openai/gpt-tools', max_tokens: 200, tools: [weather],
        tool_choice: { type: 'auto' }, messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    assert.equal(m.stop_reason, 'tool_use');
    toolUse = m.content.find((b) => b.type === 'tool_use');
    assert.ok(toolUse, JSON.stringify(m.content));
    assert.match(toolUse.id, /^[a-zA-Z0-9_-]{1,64}$/);
    assert.equal(toolUse.name, 'get_weather');
    assert.deepEqual(toolUse.input, { city: 'Paris', unit: 'celsius' });
});

await check('messages.stream() with tools: input from input_json_delta', async () => {
    const s = client.messages.stream({
        model: 'openai/gpt-tools', max_tokens: 200, tools: [weather],
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    let json = '';
    s.on('inputJson', (partial) => { json += partial; });
    const m = await s.finalMessage();
    const t = m.content.find((b) => b.type === 'tool_use');
    assert.deepEqual(t.input, { city: 'Paris', unit: 'celsius' });
    assert.deepEqual(JSON.parse(json), t.input);
    assert.equal(m.stop_reason, 'tool_use');
});

await check('a tool_result turn', async () => {
    assert.ok(toolUse, 'needs the tool call above');
    const s = client.messages.stream({
        model: 'openai/gpt-4o-mini', max_tokens: 200, tools: [weather],
        messages: [
            { role: 'user', content: 'Weather in Paris?' },
            { role: 'assistant', content: [toolUse] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18 C, sunny' }] },
        ],
    });
    const m = await s.finalMessage();
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.stop_reason, 'end_turn');
});

await check('thinking with its signature (Anthropic upstream)', async () => {
    const m = await client.messages.stream({
        model: 'anthropic/claude-thinking', max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 }, messages: ask,
    }).finalMessage();
    assert.equal(m.content[0].type, 'thinking');
    assert.equal(m.content[0].thinking, 'Twelve squared is 144.');
    assert.equal(m.content[0].signature, 'EqQBTestSignatureNotRealAtAll==');
    assert.equal(m.content[1].text, '144');
    assert.equal(m.usage.cache_creation_input_tokens, 700);
});

await check('messages.countTokens', async () => {
    const exact = await client.messages.countTokens({ model: 'anthropic/claude-sonnet-4-5', messages: ask });
    assert.equal(exact.input_tokens, 77);
    const est = await client.messages.countTokens({ model: 'openai/gpt-4o-mini', messages: ask, tools: [weather] });
    assert.ok(est.input_tokens > 10, JSON.stringify(est));
});

await check('an upstream overloaded is an APIError the SDK understands', async () => {
    await assert.rejects(
        client.messages.create({ model: 'anthropic/claude-overloaded', max_tokens: 10, messages: ask }),
        (e) => e instanceof Anthropic.APIError && e.status >= 500 && e.error?.error?.type === 'overloaded_error');
});

await check('an error after the first byte ends the stream with an APIError', async () => {
    const s = client.messages.stream({ model: 'anthropic/claude-broken', max_tokens: 10, messages: ask });
    await assert.rejects(s.finalMessage(), (e) => e instanceof Anthropic.APIError);
});

await check('a bad request is a BadRequestError', async () => {
    await assert.rejects(
        client.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: [] }),
        (e) => e instanceof Anthropic.BadRequestError && e.error?.error?.type === 'invalid_request_error');
});

await check('a wrong key is an AuthenticationError', async () => {
    const bad = new Anthropic({ apiKey: 'not-the-gateway-key', baseURL: process.env.AIGW_URL, maxRetries: 0 });
    await assert.rejects(
        bad.messages.create({ model: 'openai/gpt-4o-mini', max_tokens: 10, messages: ask }),
        (e) => e instanceof Anthropic.AuthenticationError);
});

await check('models.list', async () => {
    const ids = [];
    for await (const m of client.models.list()) {
        assert.equal(m.type, 'model');
        ids.push(m.id);
    }
    assert.ok(ids.includes('openai/gpt-4o-mini'), ids.join(','));
});

console.log(`# ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
