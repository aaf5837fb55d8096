// The official `openai` npm client against aigw's /v1/responses (tests/compat/openai_run.sh
// starts aigw in front of the mock provider and passes its URL). One client version per run:
// OPENAI_MODULE names the installed package (openai, or an npm alias of another version).
import assert from 'node:assert/strict';

const mod = await import(process.env.OPENAI_MODULE || 'openai');
const OpenAI = mod.default;
const baseURL = process.env.AIGW_URL + '/v1';
const client = new OpenAI({ apiKey: 'compat-key-a', baseURL, maxRetries: 0 });
const other = new OpenAI({ apiKey: 'compat-key-b', baseURL, maxRetries: 0 });
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
    type: 'function', name: 'get_weather', strict: false,
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
};
const time = {
    type: 'function', name: 'get_time', strict: false,
    parameters: { type: 'object', properties: { tz: { type: 'string' } } },
};
const patch = '*** Begin Patch\n*** Add File: hello.txt\n+PONG\n*** End Patch\n';

await check('responses.create', async () => {
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Capital of Portugal?' });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.match(r.id, /^resp_/);
    assert.equal(r.output_text, 'The capital of Portugal is Lisbon.');
    assert.equal(r.usage.input_tokens, 24);
    assert.equal(r.usage.output_tokens, 8);
    assert.equal(r.usage.input_tokens_details.cached_tokens, 16);
});

await check('responses.create({stream: true}) events', async () => {
    const s = await client.responses.create({ model: 'gpt-4o-mini', input: 'Tell me', stream: true });
    const types = [];
    let seq = 0, text = '';
    for await (const ev of s) {
        assert.equal(ev.sequence_number, seq++);
        types.push(ev.type);
        if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    assert.equal(types[0], 'response.created');
    assert.equal(types[1], 'response.in_progress');
    assert.equal(types.at(-1), 'response.completed');
    assert.equal(text, 'Lisbon sits on the Tagus é "river".');
});

await check('responses.stream().finalResponse()', async () => {
    const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'Tell me' });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => { deltas += e.delta; });
    const r = await stream.finalResponse();
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'Lisbon sits on the Tagus é "river".');
    assert.equal(deltas, r.output_text);
    assert.ok(Number.isInteger(r.usage.total_tokens));
});

await check('function tools, streamed', async () => {
    const r = await client.responses.stream({
        model: 'gpt-tools', input: 'Weather and time?', tools: [weather, time],
    }).finalResponse();
    const calls = r.output.filter((o) => o.type === 'function_call');
    assert.equal(calls.length, 2);
    assert.equal(calls[0].name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].arguments), { city: 'Porto' });
    assert.equal(calls[0].call_id, 'call_gwS1');
    assert.equal(calls[1].name, 'get_time');
    assert.notEqual(calls[0].id, calls[0].call_id);
});

await check('a custom tool comes back as custom_tool_call', async () => {
    const r = await client.responses.stream({
        model: 'gpt-patch', input: 'Add hello.txt',
        tools: [{ type: 'custom', name: 'apply_patch', description: 'Edit files.' }, {
            type: 'function', name: 'exec_command', strict: false,
            parameters: { type: 'object', properties: { cmd: { type: 'string' } } },
        }],
    }).finalResponse();
    const c = r.output.find((o) => o.type === 'custom_tool_call');
    assert.ok(c, JSON.stringify(r.output));
    assert.equal(c.name, 'apply_patch');
    assert.equal(c.input, patch);
});

await check('function_call_output turn', async () => {
    const r = await client.responses.create({
        model: 'gpt-4o-mini', tools: [weather],
        input: [
            { role: 'user', content: 'Weather in Porto?' },
            { type: 'function_call', call_id: 'call_gwS1', name: 'get_weather', arguments: '{"city":"Porto"}' },
            { type: 'function_call_output', call_id: 'call_gwS1', output: '21C' },
        ],
    });
    assert.equal(r.status, 'completed');
});

await check('previous_response_id chain, retrieve, inputItems, delete', async () => {
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'One', instructions: 'Be brief.' });
    const second = await client.responses.create({
        model: 'gpt-4o-mini', input: 'Two', previous_response_id: first.id,
    });
    assert.equal(second.previous_response_id, first.id);
    assert.equal(second.instructions, null);
    const got = await client.responses.retrieve(first.id);
    assert.equal(got.id, first.id);
    assert.equal(got.output_text, first.output_text);
    const items = await client.responses.inputItems.list(second.id);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].content[0].text, 'Two');
    await assert.rejects(other.responses.retrieve(first.id), (e) => e.status === 404);
    await client.responses.delete(first.id);
    await assert.rejects(client.responses.retrieve(first.id), (e) => e.status === 404);
});

await check('unknown previous_response_id is previous_response_not_found', async () => {
    await assert.rejects(
        client.responses.create({ model: 'gpt-4o-mini', input: 'x', previous_response_id: 'resp_missing' }),
        (e) => e.status === 400 && e.code === 'previous_response_not_found' &&
            e.param === 'previous_response_id');
});

await check('item_reference reads earlier items back; another key gets NotFoundError', async () => {
    const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'One' });
    const items = await client.responses.inputItems.list(first.id);
    const refs = [
        { type: 'item_reference', id: items.data[0].id },
        { type: 'item_reference', id: first.output[0].id },
    ];
    const second = await client.responses.create({
        model: 'gpt-4o-mini', input: [...refs, { role: 'user', content: 'Two' }],
    });
    assert.equal(second.status, 'completed');
    const kept = await client.responses.inputItems.list(second.id, { order: 'asc' });
    assert.equal(kept.data.length, 3);
    assert.equal(kept.data[0].content[0].text, 'One');
    assert.equal(kept.data[1].content[0].text, first.output_text);
    await assert.rejects(
        other.responses.create({ model: 'gpt-4o-mini', input: refs }),
        (e) => e instanceof mod.NotFoundError && e.param === 'input');
});

// Remote compaction as Codex does it (clients from before compact() skip the first check).
if (typeof client.responses.compact === 'function') {
    await check('responses.compact(), then its output as the next input', async () => {
        const c = await client.responses.compact({
            model: 'gpt-4o-mini', instructions: 'Be brief.',
            input: [{ role: 'user', content: 'Capital of Portugal?' },
                { role: 'assistant', content: 'Lisbon.' }],
        });
        assert.equal(c.object, 'response.compaction');
        assert.equal(c.output.length, 2);
        assert.equal(c.output[0].role, 'user');
        assert.equal(c.output[1].type, 'compaction');
        assert.match(c.output[1].encrypted_content, /^aigw\.compaction\.v1:/);
        assert.equal(c.usage.output_tokens, 8);
        const next = await client.responses.create({
            model: 'gpt-4o-mini', store: false,
            input: [...c.output, { role: 'user', content: 'And of Spain?' }],
        });
        assert.equal(next.status, 'completed');
    });
}

await check('compaction_trigger: stream().finalResponse() has one compaction item', async () => {
    const s = client.responses.stream({
        model: 'gpt-4o-mini', store: false,
        input: [{ role: 'user', content: 'Capital of Portugal?' }, { type: 'compaction_trigger' }],
    });
    const r = await s.finalResponse();
    assert.equal(r.status, 'completed');
    assert.equal(r.output.length, 1);
    assert.equal(r.output[0].type, 'compaction');
    assert.match(r.output[0].encrypted_content, /^aigw\.compaction\.v1:/);
    assert.equal(r.output_text, '');
});

// Token counts (POST /v1/responses/input_tokens): estimated by aigw for this chat target. A
// client without inputTokens.count() (none pinned today) says so and skips.
if (typeof client.responses.inputTokens?.count === 'function') {
    await check('responses.inputTokens.count(): tools and a previous_response_id counted', async () => {
        const base = await client.responses.inputTokens.count({
            model: 'gpt-4o-mini', input: 'Capital of Portugal?',
        });
        assert.equal(base.object, 'response.input_tokens');
        assert.ok(Number.isInteger(base.input_tokens) && base.input_tokens > 0);
        const tools = await client.responses.inputTokens.count({
            model: 'gpt-4o-mini', input: 'Capital of Portugal?', tools: [weather, time],
        });
        assert.ok(tools.input_tokens > base.input_tokens, `${tools.input_tokens}`);
        const first = await client.responses.create({ model: 'gpt-4o-mini', input: 'One' });
        const chained = await client.responses.inputTokens.count({
            model: 'gpt-4o-mini', input: 'Capital of Portugal?', previous_response_id: first.id,
        });
        assert.ok(chained.input_tokens > base.input_tokens, `${chained.input_tokens}`);
        await assert.rejects(
            other.responses.inputTokens.count({
                model: 'gpt-4o-mini', input: 'x', previous_response_id: first.id,
            }),
            (e) => e.status === 400 && e.code === 'previous_response_not_found');
    });
} else {
    console.log('# skip responses.inputTokens.count(): this client version has no such method');
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
