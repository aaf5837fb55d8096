/*
 * Responses render: chunk scripts (tests/fixtures/responses-inbound/<name>.chunks.json) ->
 * golden stream (<name>.stream.sse) and document (<name>.response.json). Every stream is
 * replayed through the SSE framer whole, one byte at a time and split at every offset, and
 * checked the way the strictest clients check it (openai-node's accumulator, Codex).
 * AIGW_GOLDEN_WRITE=1 rewrites the golden files (review the diff before committing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugin/framing.h"
#include "resp_util.h"
#include "store/store.h"

/* ---- driving the renderer from a script ------------------------------------------------- */

static int finish_of(const char *s)
{
    if (!strcmp(s, "length"))
        return AIGW_FINISH_LENGTH;
    if (!strcmp(s, "tool_calls"))
        return AIGW_FINISH_TOOL_CALLS;
    if (!strcmp(s, "content_filter"))
        return AIGW_FINISH_CONTENT_FILTER;
    return AIGW_FINISH_STOP;
}

static const char *s_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t n_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* Feeds one scripted chunk; piece > 0 cuts its text into pieces of that many bytes. */
static void feed(void *r, const cJSON *c, size_t piece, struct gw_buf *out)
{
    const char *type = s_of(c, "type");
    struct aigw_usage u;
    struct aigw_chunk ch = aigw_chunk_init(0, 0);
    const char *text = NULL;
    if (!strcmp(type, "meta")) {
        ch.type = AIGW_CHUNK_META;
        ch.name = aigw_bytes_of(s_of(c, "model"));
    } else if (!strcmp(type, "text") || !strcmp(type, "reasoning") || !strcmp(type, "refusal") ||
               !strcmp(type, "signature")) {
        ch.type = !strcmp(type, "text")        ? AIGW_CHUNK_TEXT
                  : !strcmp(type, "reasoning") ? AIGW_CHUNK_REASONING
                  : !strcmp(type, "refusal")   ? AIGW_CHUNK_REFUSAL
                                               : AIGW_CHUNK_REASONING_SIGNATURE;
        text = s_of(c, "text");
    } else if (!strcmp(type, "tool")) {
        ch.type = AIGW_CHUNK_TOOL_CALL;
        ch.tool_index = (int)n_of(c, "index");
        ch.id = aigw_bytes_of(s_of(c, "id"));
        ch.name = aigw_bytes_of(s_of(c, "name"));
        text = s_of(c, "args");
    } else if (!strcmp(type, "finish")) {
        ch.type = AIGW_CHUNK_FINISH;
        ch.finish = finish_of(s_of(c, "finish"));
    } else if (!strcmp(type, "usage")) {
        aigw_usage_init(&u);
        u.prompt_tokens = n_of(c, "prompt");
        u.completion_tokens = n_of(c, "completion");
        u.cached_tokens = n_of(c, "cached");
        u.reasoning_tokens = n_of(c, "reasoning");
        ch.type = AIGW_CHUNK_USAGE;
        ch.usage = &u;
    } else {
        cr_assert_fail("unknown scripted chunk %s", type);
    }
    size_t n = text ? strlen(text) : 0;
    if (!text || !piece || n <= piece) {
        ch.text.ptr = text;
        ch.text.len = n;
        cr_assert_eq(gw_responses_render_chunk(r, &ch, out), 0);
        return;
    }
    for (size_t off = 0; off < n; off += piece) {
        ch.text.ptr = text + off;
        ch.text.len = n - off < piece ? n - off : piece;
        cr_assert_eq(gw_responses_render_chunk(r, &ch, out), 0);
        ch.id.ptr = ch.name.ptr = NULL; /* id and name come with the first piece only */
        ch.id.len = ch.name.len = 0;
    }
}

/* Renders script `name` (stream or not, pieces of `piece` bytes) into a malloc'd string. */
static char *render(const char *name, int stream, size_t piece)
{
    char file[256];
    snprintf(file, sizeof file, "%s.chunks.json", name);
    cJSON *script = ru_fixture_json(file);
    size_t len;
    char *body = ru_fixture(s_of(script, "request"), &len);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, len, &p, &err), 0, "%s", err.message);
    ru_fix_identity(&p);
    p.stream = stream;
    ((struct gw_resp_ctx *)p.ctx)->st = NULL; /* these tests keep nothing */
    void *r = gw_responses_render_new(&p, "gpt-test", "rid");
    cr_assert_not_null(r);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    gw_buf_append(&out, "", 0);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(script, "chunks")) feed(r, c, piece, &out);
    const cJSON *e = cJSON_GetObjectItem(script, "error");
    if (e) {
        struct aigw_error ae;
        aigw_error_init(&ae);
        ae.status = (int)n_of(e, "status");
        ae.code = s_of(e, "code");
        ae.message = s_of(e, "message");
        cr_assert_eq(gw_responses_render_stream_error(r, &ae, &out), 0);
    } else {
        cr_assert_eq(gw_responses_render_end(r, &out), 0);
    }
    gw_responses_render_free(r);
    ru_parsed_free(&p);
    free(body);
    cJSON_Delete(script);
    return gw_buf_steal(&out, NULL);
}

/* ---- the client's view: frames -> events, checked ----------------------------------------- */

struct events {
    cJSON *list; /* [{"event":name, "data":{...}}] */
};

static int on_frame(void *ud, const struct aigw_frame *f)
{
    struct events *ev = ud;
    cJSON *o = cJSON_CreateObject();
    char *name = strndup(f->event.ptr, f->event.len);
    cJSON_AddStringToObject(o, "event", name);
    free(name);
    cJSON *d = cJSON_ParseWithLength(f->data.ptr, f->data.len);
    cr_assert_not_null(d, "every data line is JSON: %.*s", (int)f->data.len, f->data.ptr);
    cJSON_AddItemToObject(o, "data", d);
    cJSON_AddItemToArray(ev->list, o);
    return 0;
}

static cJSON *frames(const char *sse, size_t step)
{
    struct gw_framer f;
    struct events ev = {cJSON_CreateArray()};
    gw_framer_init(&f, AIGW_FRAMING_SSE, 1 << 20);
    size_t n = strlen(sse);
    if (!step)
        step = n ? n : 1;
    for (size_t off = 0; off < n; off += step)
        cr_assert_eq(gw_framer_feed(&f, sse + off, n - off < step ? n - off : step, on_frame, &ev),
                     0);
    cr_assert_eq(gw_framer_finish(&f, on_frame, &ev), 0);
    gw_framer_free(&f);
    return ev.list;
}

/* Two cuts at a and b: every split point of the stream. */
static cJSON *frames_cut(const char *sse, size_t a)
{
    struct gw_framer f;
    struct events ev = {cJSON_CreateArray()};
    gw_framer_init(&f, AIGW_FRAMING_SSE, 1 << 20);
    size_t n = strlen(sse);
    cr_assert_eq(gw_framer_feed(&f, sse, a, on_frame, &ev), 0);
    cr_assert_eq(gw_framer_feed(&f, sse + a, n - a, on_frame, &ev), 0);
    cr_assert_eq(gw_framer_finish(&f, on_frame, &ev), 0);
    gw_framer_free(&f);
    return ev.list;
}

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

/* The checks openai-node (identity validation) and Codex make, and the spec's sequence. */
static cJSON *check_events(const cJSON *list)
{
    int n = cJSON_GetArraySize(list), added = 0, open = -1, terminal = 0;
    cJSON *done_items = cJSON_CreateArray(), *item_ids = cJSON_CreateArray();
    struct gw_buf text, args;
    gw_buf_init(&text, 0);
    gw_buf_init(&args, 0);
    cr_assert(n >= 3, "at least created, in_progress and a terminal event");
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(list, i);
        const cJSON *d = cJSON_GetObjectItem(e, "data");
        const char *name = s_of(e, "event"), *type = s_of(d, "type");
        cr_assert(is(name, type), "event %d: name %s == type %s", i, name, type);
        cr_assert_eq(n_of(d, "sequence_number"), i, "sequence_number of %s", type);
        cr_assert(!terminal, "%s after the terminal event", type);
        if (i == 0)
            cr_assert(is(type, "response.created"));
        if (i == 1)
            cr_assert(is(type, "response.in_progress"));
        if (i < 2) {
            const cJSON *resp = cJSON_GetObjectItem(d, "response");
            cr_assert(is(s_of(resp, "status"), "in_progress"));
            cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(resp, "output")), 0);
            cr_assert(cJSON_IsNull(cJSON_GetObjectItem(resp, "usage")));
            continue;
        }
        if (is(type, "response.output_item.added")) {
            cr_assert_eq(open, -1, "an item opens only after the last one closed");
            cr_assert_eq(n_of(d, "output_index"), added, "outputs only append");
            const cJSON *it = cJSON_GetObjectItem(d, "item");
            const char *id = s_of(it, "id");
            cr_assert(id && *id, "items have ids");
            const cJSON *x;
            cJSON_ArrayForEach(x, item_ids) cr_assert(!is(x->valuestring, id), "unique ids");
            cJSON_AddItemToArray(item_ids, cJSON_CreateString(id));
            if (is(s_of(it, "type"), "function_call") || is(s_of(it, "type"), "custom_tool_call"))
                cr_assert(s_of(it, "call_id") && *s_of(it, "call_id"), "call_id");
            open = added++;
            gw_buf_reset(&text);
            gw_buf_reset(&args);
        } else if (is(type, "response.output_item.done")) {
            cr_assert_eq(n_of(d, "output_index"), open);
            const cJSON *it = cJSON_GetObjectItem(d, "item");
            cr_assert(is(s_of(it, "id"), cJSON_GetArrayItem(item_ids, open)->valuestring),
                      "done keeps the id");
            if (is(s_of(it, "type"), "function_call"))
                cr_assert_str_eq(s_of(it, "arguments"), args.ptr ? args.ptr : "");
            cJSON_AddItemToArray(done_items, cJSON_Duplicate(it, 1));
            open = -1;
        } else if (is(type, "response.completed") || is(type, "response.incomplete") ||
                   is(type, "response.failed")) {
            terminal = 1;
            const cJSON *resp = cJSON_GetObjectItem(d, "response");
            const char *st = s_of(resp, "status");
            cr_assert(is(type + 9, st), "%s carries status %s", type, st);
            const cJSON *usage = cJSON_GetObjectItem(resp, "usage");
            if (!is(type, "response.failed")) {
                cr_assert_eq(open, -1, "every item closed before the end");
                cr_assert(cJSON_Compare(cJSON_GetObjectItem(resp, "output"), done_items, 1),
                          "the final output is the items as output_item.done gave them");
                cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(usage, "input_tokens")));
                cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(usage, "output_tokens")));
                cr_assert_eq(n_of(usage, "total_tokens"),
                             n_of(usage, "input_tokens") + n_of(usage, "output_tokens"));
            } else {
                cr_assert(is(s_of(cJSON_GetArrayItem(list, i - 1), "event"), "error"),
                          "the error event comes right before response.failed");
                cr_assert(s_of(cJSON_GetObjectItem(resp, "error"), "message"));
            }
        } else if (is(type, "error")) {
            cr_assert(s_of(d, "message") && s_of(d, "code"));
        } else {
            /* item-scoped: addressed to the open item by its own id */
            cr_assert_neq(open, -1, "%s outside an item", type);
            cr_assert_eq(n_of(d, "output_index"), open, "%s output_index", type);
            cr_assert(is(s_of(d, "item_id"), cJSON_GetArrayItem(item_ids, open)->valuestring),
                      "%s item_id is the item's id", type);
            if (is(type, "response.content_part.added"))
                gw_buf_reset(&text); /* a part's text is its own, not the item's so far */
            if (is(type, "response.output_text.delta"))
                gw_buf_append_str(&text, s_of(d, "delta"));
            if (is(type, "response.output_text.done"))
                cr_assert_str_eq(s_of(d, "text"), text.ptr ? text.ptr : "");
            if (is(type, "response.function_call_arguments.delta"))
                gw_buf_append_str(&args, s_of(d, "delta"));
            if (is(type, "response.function_call_arguments.done"))
                cr_assert_str_eq(s_of(d, "arguments"), args.ptr ? args.ptr : "");
        }
    }
    cr_assert(terminal, "a terminal event ends the stream");
    gw_buf_free(&text);
    gw_buf_free(&args);
    cJSON_Delete(item_ids);
    return done_items;
}

static const cJSON *terminal_response(const cJSON *list)
{
    return cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1), "data"),
        "response");
}

/* ---- goldens ------------------------------------------------------------------------------ */

static void golden_text(const char *file, const char *got)
{
    if (getenv("AIGW_GOLDEN_WRITE")) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fixtures/responses-inbound/%s",
                 getenv("AIGW_TEST_SRCDIR"), file);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        fputs(got, f);
        fclose(f);
    }
    char *want = ru_fixture(file, NULL);
    cr_assert_str_eq(got, want, "%s differs", file);
    free(want);
}

static void golden(const char *name)
{
    char file[256];
    char *sse = render(name, 1, 0);
    snprintf(file, sizeof file, "%s.stream.sse", name);
    golden_text(file, sse);

    /* the stream as a client reads it: whole, byte by byte, split at every offset */
    cJSON *whole = frames(sse, 0);
    cJSON *items = check_events(whole);
    cJSON *bytes = frames(sse, 1);
    cr_assert(cJSON_Compare(whole, bytes, 1), "byte by byte");
    cJSON_Delete(bytes);
    for (size_t a = 0; a <= strlen(sse); a++) {
        cJSON *cut = frames_cut(sse, a);
        cr_assert(cJSON_Compare(whole, cut, 1), "split at %zu", a);
        cJSON_Delete(cut);
    }

    /* upstream pieces of one byte change nothing the client keeps */
    char *fine = render(name, 1, 1);
    cJSON *fl = frames(fine, 0);
    cJSON_Delete(check_events(fl));
    cr_assert(cJSON_Compare(terminal_response(whole), terminal_response(fl), 1),
              "one-byte pieces give the same response");
    cJSON_Delete(fl);
    free(fine);

    /* the document is the stream's terminal response (a failure before any byte is an
     * HTTP error in OpenAI's shape instead, rendered by error_body) */
    const cJSON *tr = terminal_response(whole);
    char *doc = NULL;
    if (!is(s_of(tr, "status"), "failed")) {
        doc = render(name, 0, 0);
        snprintf(file, sizeof file, "%s.response.json", name);
        golden_text(file, doc);
        cJSON *dj = cJSON_Parse(doc);
        cr_assert_not_null(dj);
        cr_assert(cJSON_Compare(dj, tr, 1), "document == the stream's final response");
        cJSON_Delete(dj);
    }
    cJSON_Delete(items);
    cJSON_Delete(whole);
    free(doc);
    free(sse);
}

Test(responses_render, golden_text)
{
    golden("text");
}

Test(responses_render, golden_reasoning_text_and_three_kinds_of_call)
{
    golden("tools");
}

Test(responses_render, golden_interleaved_calls_come_out_whole_and_ordered)
{
    golden("interleaved");
}

/* Deltas into several parts and items in turn: text, a refusal part, text again, a reasoning
 * item, a new message. Each delta names its own item, part and kind (the render keeps a
 * delta's opening bytes per part). */
Test(responses_render, golden_deltas_move_between_parts_and_items)
{
    golden("parts");
}

Test(responses_render, golden_length_is_incomplete)
{
    golden("length");
}

Test(responses_render, golden_failure_after_the_first_byte)
{
    golden("failed");
}

Test(responses_render, tool_calls_map_back_to_client_names)
{
    char *doc = render("tools", 0, 0);
    cJSON *d = cJSON_Parse(doc);
    const cJSON *out = cJSON_GetObjectItem(d, "output");
    cr_assert_eq(cJSON_GetArraySize(out), 5);
    const cJSON *rs = cJSON_GetArrayItem(out, 0), *msg = cJSON_GetArrayItem(out, 1);
    const cJSON *fc = cJSON_GetArrayItem(out, 2), *ns = cJSON_GetArrayItem(out, 3);
    const cJSON *ctc = cJSON_GetArrayItem(out, 4);
    cr_assert_str_eq(s_of(rs, "type"), "reasoning");
    cr_assert_str_eq(s_of(rs, "encrypted_content"), "c2lnLTEyMw==");
    cr_assert_str_eq(s_of(cJSON_GetArrayItem(cJSON_GetObjectItem(rs, "summary"), 0), "text"),
                     "The user wants the weather.");
    cr_assert_str_eq(s_of(msg, "type"), "message");
    cr_assert_str_eq(s_of(fc, "type"), "function_call");
    cr_assert_str_eq(s_of(fc, "arguments"), "{\"city\":\"Paris\"}");
    cr_assert_str_eq(s_of(ns, "name"), "spawn");
    cr_assert_str_eq(s_of(ns, "namespace"), "agents");
    cr_assert_str_eq(s_of(ns, "call_id"), "toolu_01A");
    cr_assert_str_eq(s_of(ctc, "type"), "custom_tool_call");
    cr_assert_str_eq(s_of(ctc, "name"), "apply_patch");
    cr_assert_str_eq(s_of(ctc, "input"),
                     "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n");
    const cJSON *u = cJSON_GetObjectItem(d, "usage");
    cr_assert_eq(n_of(cJSON_GetObjectItem(u, "output_tokens_details"), "reasoning_tokens"), 12);
    cr_assert_eq(n_of(u, "total_tokens"), 160);
    cJSON_Delete(d);
    free(doc);
}

Test(responses_render, long_call_ids_are_shortened_stably)
{
    size_t len;
    char *body = ru_fixture("simple.request.json", &len);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, len, &p, &err), 0);
    void *r = gw_responses_render_new(&p, "m", "rid");
    struct gw_buf out;
    gw_buf_init(&out, 0);
    char longid[200];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    c.id = aigw_bytes_of(longid);
    c.name = aigw_bytes_of("f");
    c.text = aigw_bytes_of("{}");
    cr_assert_eq(gw_responses_render_chunk(r, &c, &out), 0);
    cr_assert_eq(gw_responses_render_end(r, &out), 0);
    cJSON *d = cJSON_Parse(out.ptr);
    const char *cid = s_of(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "output"), 0), "call_id");
    cr_assert(strlen(cid) <= 64 && !strncmp(cid, "call_", 5), "%s", cid);
    cJSON_Delete(d);
    gw_buf_free(&out);
    gw_responses_render_free(r);
    ru_parsed_free(&p);
    free(body);
}

Test(responses_render, empty_answer_still_completes_and_heartbeat_is_a_comment)
{
    size_t len;
    char *body = ru_fixture("simple.request.json", &len);
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(ru_parse(body, len, &p, &err), 0);
    p.stream = 1;
    void *r = gw_responses_render_new(&p, "m", "rid");
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_responses_render_heartbeat(r, &out), 0);
    cr_assert_str_eq(out.ptr, ": keepalive\n\n");
    gw_buf_reset(&out);
    cr_assert_eq(gw_responses_render_end(r, &out), 0);
    cJSON *l = frames(out.ptr, 0);
    cJSON_Delete(check_events(l));
    cr_assert_eq(cJSON_GetArraySize(l), 3);
    cJSON_Delete(l);
    gw_buf_free(&out);
    gw_responses_render_free(r);
    ru_parsed_free(&p);
    free(body);
}

Test(responses_render, error_body_is_openai_shaped)
{
    struct gw_buf out;
    gw_buf_init(&out, 0);
    cr_assert_eq(gw_responses_error_body(&out, 400, NULL, "previous_response_not_found",
                                         "previous_response_id",
                                         "Previous response with id "
                                         "'resp_1' not found."),
                 0);
    cr_assert_str_eq(out.ptr,
                     "{\"error\":{\"message\":\"Previous response with id 'resp_1' not "
                     "found.\",\"type\":\"invalid_request_error\",\"param\":"
                     "\"previous_response_id\",\"code\":\"previous_response_not_found\"}}");
    gw_buf_free(&out);
}

/* A response the store refuses (over its 16 MiB: here the input alone) is answered with
 * "store": false in the final document, streamed or not, instead of an id that GET and
 * previous_response_id would not find. */
Test(responses_render, a_response_the_store_refused_says_store_false, .timeout = 60)
{
    size_t big = (16u << 20) + 1;
    char *body = malloc(big + 64);
    cr_assert_not_null(body);
    int n = snprintf(body, 64, "{\"model\":\"m\",\"input\":\"");
    memset(body + n, 'x', big);
    memcpy(body + n + big, "\"}", 3);
    for (int stream = 0; stream < 2; stream++) {
        struct gw_parsed p;
        struct gw_front_err err;
        cr_assert_eq(ru_parse(body, strlen(body), &p, &err), 0, "%s", err.message);
        p.stream = stream;
        void *r = gw_responses_render_new(&p, "m", "rid");
        struct gw_buf out;
        gw_buf_init(&out, 0);
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        c.text = aigw_bytes_of("hello");
        cr_assert_eq(gw_responses_render_chunk(r, &c, &out), 0);
        cr_assert_eq(gw_responses_render_end(r, &out), 0);
        cJSON *l = stream ? frames(out.ptr, 0) : NULL;
        cJSON *doc = stream ? cJSON_Duplicate(terminal_response(l), 1) : cJSON_Parse(out.ptr);
        cr_assert_not_null(doc);
        cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(doc, "store")), "stream %d", stream);
        struct gw_stored_response row;
        cr_assert_eq(gw_store_response_get(gw_responses_store(), ((struct gw_resp_ctx *)p.ctx)->id,
                                           "", &row),
                     GW_STORE_ENOTFOUND);
        cJSON_Delete(doc);
        cJSON_Delete(l);
        gw_buf_free(&out);
        gw_responses_render_free(r);
        ru_parsed_free(&p);
    }
    free(body);
}
