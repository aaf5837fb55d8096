/* anth_test - shared pieces of the Anthropic dialect's tests (see anth_test.h). */
#include "front/anth_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "front/anthropic.h"
#include "lib/buf.h"
#include "plugin/plugin_loader.h"
#include "proxy/call.h"
#include "proxy/errors.h"
#include "proxy/exchange.h"

/* ---- fixtures and goldens ---------------------------------------------------------------- */

static void fixture_path(char *out, size_t size, const char *rel)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src, "AIGW_TEST_SRCDIR is not set (run through make check)");
    snprintf(out, size, "%s/tests/fixtures/%s", src, rel);
}

char *at_read(const char *rel, size_t *len)
{
    char path[4096];
    fixture_path(path, sizeof path, rel);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "fixture %s not found", path);
    struct gw_buf b;
    gw_buf_init(&b, 0);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        cr_assert_eq(gw_buf_append(&b, tmp, n), 0);
    fclose(f);
    cr_assert_eq(gw_buf_append(&b, "", 0), 0);
    return gw_buf_steal(&b, len);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

void at_golden(const char *rel, const char *got, size_t n)
{
    if (getenv("AIGW_UPDATE_GOLDEN")) {
        char path[4096];
        fixture_path(path, sizeof path, rel);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "cannot write %s", path);
        if (ends_with(rel, ".json")) {
            cJSON *j = cJSON_ParseWithLength(got, n);
            cr_assert_not_null(j, "output is not JSON: %.*s", (int)n, got);
            char *pretty = cJSON_Print(j);
            fprintf(f, "%s\n", pretty);
            free(pretty);
            cJSON_Delete(j);
        } else {
            fwrite(got, 1, n, f);
        }
        fclose(f);
        return;
    }
    size_t elen = 0;
    char *exp = at_read(rel, &elen);
    if (ends_with(rel, ".json")) {
        cJSON *e = cJSON_Parse(exp), *g = cJSON_ParseWithLength(got, n);
        cr_assert_not_null(e, "golden %s is not JSON", rel);
        cr_assert_not_null(g, "output is not JSON: %.*s", (int)n, got);
        char *gs = cJSON_PrintUnformatted(g);
        cr_assert(cJSON_Compare(e, g, 1), "output differs from %s:\n%s", rel, gs);
        free(gs);
        cJSON_Delete(e);
        cJSON_Delete(g);
    } else {
        cr_assert(elen == n && !memcmp(exp, got, n), "output differs from %s:\n%.*s", rel, (int)n,
                  got);
    }
    free(exp);
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct hdrs {
    const char *betas;
};

static const char *header(void *ud, const char *name)
{
    const struct hdrs *h = ud;
    return !strcasecmp(name, "anthropic-beta") ? h->betas : NULL;
}

int at_parse(const char *body, const char *path, const char *betas, struct gw_parsed *p,
             struct gw_front_err *err)
{
    struct hdrs h = {betas};
    struct gw_inbound in = {body, strlen(body), path ? path : "/v1/messages", NULL, header, &h};
    memset(p, 0, sizeof *p);
    return gw_dialect_anthropic.parse(&in, p, err);
}

/* ---- the client's view of a stream --------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is(const char *a, const char *b)
{
    return a && !strcmp(a, b);
}

static int fail(char *why, size_t wl, const char *fmt, const char *arg)
    __attribute__((format(printf, 3, 0)));

/* fmt holds one %s (the arg; "" when NULL). */
static int fail(char *why, size_t wl, const char *fmt, const char *arg)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(why, wl, fmt, arg ? arg : "");
#pragma GCC diagnostic pop
    return -1;
}

static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int stop_reason_ok(const char *r)
{
    static const char *const ok[] = {"end_turn",
                                     "max_tokens",
                                     "stop_sequence",
                                     "tool_use",
                                     "pause_turn",
                                     "refusal",
                                     "model_context_window_exceeded",
                                     NULL};
    for (int i = 0; r && ok[i]; i++)
        if (!strcmp(r, ok[i]))
            return 1;
    return 0;
}

static int usage_ok(const cJSON *u)
{
    static const char *const keys[] = {"input_tokens", "output_tokens",
                                       "cache_creation_input_tokens", "cache_read_input_tokens",
                                       NULL};
    for (int i = 0; keys[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, keys[i]);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0)
            return 0;
    }
    return 1;
}

static int block_ok(const cJSON *b, char *why, size_t wl)
{
    const char *type = jstr(b, "type");
    if (!type)
        return fail(why, wl, "a content block without a type%s", NULL);
    if (is(type, "tool_use")) {
        if (!id_ok(jstr(b, "id")))
            return fail(why, wl, "tool_use id %s does not match ^[a-zA-Z0-9_-]{1,64}$",
                        jstr(b, "id"));
        if (!jstr(b, "name") || !*jstr(b, "name"))
            return fail(why, wl, "tool_use without a name%s", NULL);
        if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(b, "input")))
            return fail(why, wl, "tool_use input is not an object%s", NULL);
    } else if (is(type, "text")) {
        if (!jstr(b, "text"))
            return fail(why, wl, "text block without text%s", NULL);
    } else if (is(type, "thinking")) {
        const char *sig = jstr(b, "signature");
        if (!jstr(b, "thinking") || !sig || !*sig)
            return fail(why, wl, "thinking block without thinking or signature%s", NULL);
    }
    return 0;
}

int at_check_message(const cJSON *m, char *why, size_t wl)
{
    const char *id = jstr(m, "id");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content"), *b;
    if (!id || strncmp(id, "msg_", 4))
        return fail(why, wl, "message id %s does not start with msg_", id);
    if (!is(jstr(m, "type"), "message") || !is(jstr(m, "role"), "assistant") || !jstr(m, "model"))
        return fail(why, wl, "type, role or model missing%s", NULL);
    if (!cJSON_IsArray(content))
        return fail(why, wl, "content is not an array%s", NULL);
    cJSON_ArrayForEach(b, content)
    {
        if (block_ok(b, why, wl))
            return -1;
    }
    if (!stop_reason_ok(jstr(m, "stop_reason")))
        return fail(why, wl, "stop_reason %s is not one of Anthropic's", jstr(m, "stop_reason"));
    if (!usage_ok(cJSON_GetObjectItemCaseSensitive(m, "usage")))
        return fail(why, wl, "usage lacks one of the four counts%s", NULL);
    return 0;
}

struct sse_state {
    int started, stopped, errored, deltaed;
    int open;     /* index of the open block, -1 none */
    cJSON *block; /* the open block (in the message) */
    int signed_;
    struct gw_buf json;
    int nblocks;
};

static int append_str(cJSON *o, const char *key, const char *piece)
{
    const char *old = jstr(o, key);
    size_t n = (old ? strlen(old) : 0) + strlen(piece) + 1;
    char *s = malloc(n);
    snprintf(s, n, "%s%s", old ? old : "", piece);
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, s);
    free(s);
    return 0;
}

static int on_delta(struct sse_state *s, const cJSON *d, char *why, size_t wl)
{
    const char *dt = jstr(d, "type"), *bt = jstr(s->block, "type");
    if (is(dt, "text_delta")) {
        if (!is(bt, "text"))
            return fail(why, wl, "text_delta on a %s block", bt);
        if (!jstr(d, "text") || !*jstr(d, "text"))
            return fail(why, wl, "empty text_delta%s", NULL);
        return append_str(s->block, "text", jstr(d, "text"));
    }
    if (is(dt, "input_json_delta")) {
        if (!is(bt, "tool_use") && !is(bt, "server_tool_use"))
            return fail(why, wl, "input_json_delta on a %s block", bt);
        if (!jstr(d, "partial_json"))
            return fail(why, wl, "input_json_delta without partial_json%s", NULL);
        return gw_buf_append_str(&s->json, jstr(d, "partial_json"));
    }
    if (is(dt, "thinking_delta")) {
        if (!is(bt, "thinking") || s->signed_)
            return fail(why, wl, "thinking_delta on a %s block or after its signature", bt);
        return append_str(s->block, "thinking", jstr(d, "thinking") ? jstr(d, "thinking") : "");
    }
    if (is(dt, "signature_delta")) {
        /* Claude Code: "Content block is not a thinking block" */
        if (!is(bt, "thinking"))
            return fail(why, wl, "signature_delta on a %s block", bt);
        s->signed_ = 1;
        return append_str(s->block, "signature", jstr(d, "signature") ? jstr(d, "signature") : "");
    }
    if (is(dt, "citations_delta")) {
        if (!is(bt, "text"))
            return fail(why, wl, "citations_delta on a %s block", bt);
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(s->block, "citations");
        if (!cJSON_IsArray(arr)) {
            cJSON_DeleteItemFromObjectCaseSensitive(s->block, "citations");
            arr = cJSON_AddArrayToObject(s->block, "citations");
        }
        cJSON_AddItemToArray(arr,
                             cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "citation"), 1));
        return 0;
    }
    return fail(why, wl, "unknown delta type %s", dt);
}

static int on_event(struct sse_state *s, struct at_stream *st, const char *name, cJSON *data,
                    char *why, size_t wl)
{
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(data, "index");
    int index = cJSON_IsNumber(idx) ? (int)idx->valuedouble : -2;
    if (s->stopped || s->errored)
        return fail(why, wl, "event %s after the end of the stream", name);
    if (is(name, "ping")) {
        if (!s->started)
            return fail(why, wl, "ping before message_start%s", NULL);
        if (cJSON_GetArraySize(data) != 1)
            return fail(why, wl, "ping with extra fields%s", NULL);
        st->pings++;
        return 0;
    }
    if (is(name, "error")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(data, "error");
        if (!jstr(e, "type") || !jstr(e, "message"))
            return fail(why, wl, "error event without error.type and error.message%s", NULL);
        snprintf(st->error_type, sizeof st->error_type, "%s", jstr(e, "type"));
        s->errored = 1;
        return 0;
    }
    if (is(name, "message_start")) {
        if (s->started)
            return fail(why, wl, "a second message_start%s", NULL);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(data, "message");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "usage");
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(u, "input_tokens");
        if (!jstr(m, "id") || strncmp(jstr(m, "id"), "msg_", 4) ||
            !is(jstr(m, "type"), "message") || !is(jstr(m, "role"), "assistant"))
            return fail(why, wl, "message_start without msg_ id, type or role%s", NULL);
        if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(m, "content")) ||
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "content")) != 0)
            return fail(why, wl, "message_start content is not []%s", NULL);
        if (!cJSON_IsNumber(in) ||
            !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(u, "output_tokens")))
            return fail(why, wl, "message_start usage without input and output tokens%s", NULL);
        st->start_input = (int64_t)in->valuedouble;
        st->message = cJSON_Duplicate(m, 1);
        s->started = 1;
        return 0;
    }
    if (!s->started)
        return fail(why, wl, "Unexpected event order, got %s before \"message_start\"", name);
    cJSON *content = cJSON_GetObjectItemCaseSensitive(st->message, "content");
    if (is(name, "content_block_start")) {
        cJSON *b = cJSON_GetObjectItemCaseSensitive(data, "content_block");
        if (s->open >= 0)
            return fail(why, wl, "a block starts while another is open%s", NULL);
        if (index != s->nblocks)
            return fail(why, wl, "content_block_start index out of order%s", NULL);
        if (!jstr(b, "type"))
            return fail(why, wl, "content_block without a type%s", NULL);
        if (is(jstr(b, "type"), "tool_use")) {
            const cJSON *input = cJSON_GetObjectItemCaseSensitive(b, "input");
            if (!cJSON_IsObject(input) || cJSON_GetArraySize(input) != 0)
                return fail(why, wl, "tool_use starts with input other than {}%s", NULL);
        }
        s->block = cJSON_Duplicate(b, 1);
        cJSON_AddItemToArray(content, s->block);
        s->open = index;
        s->signed_ = 0;
        gw_buf_reset(&s->json);
        return 0;
    }
    if (is(name, "content_block_delta")) {
        if (s->open < 0 || index != s->open)
            return fail(why, wl,
                        "content_block_delta for a block that is not open (Content "
                        "block not found)%s",
                        NULL);
        return on_delta(s, cJSON_GetObjectItemCaseSensitive(data, "delta"), why, wl);
    }
    if (is(name, "content_block_stop")) {
        if (s->open < 0 || index != s->open)
            return fail(why, wl, "content_block_stop for a block that is not open%s", NULL);
        const char *bt = jstr(s->block, "type");
        if (is(bt, "thinking") && !s->signed_)
            return fail(why, wl, "thinking block closed without a signature_delta%s", NULL);
        if ((is(bt, "tool_use") || is(bt, "server_tool_use")) && s->json.len) {
            cJSON *input = cJSON_ParseWithLength(s->json.ptr, s->json.len);
            if (!cJSON_IsObject(input)) {
                cJSON_Delete(input);
                return fail(why, wl, "tool input JSON does not parse to an object: %s",
                            s->json.ptr);
            }
            cJSON_ReplaceItemInObjectCaseSensitive(s->block, "input", input);
        }
        if (block_ok(s->block, why, wl))
            return -1;
        s->open = -1;
        s->block = NULL;
        s->nblocks++;
        return 0;
    }
    if (is(name, "message_delta")) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(data, "delta");
        cJSON *u = cJSON_GetObjectItemCaseSensitive(data, "usage"), *x;
        if (s->open >= 0)
            return fail(why, wl, "message_delta while a block is open%s", NULL);
        if (!stop_reason_ok(jstr(d, "stop_reason")))
            return fail(why, wl, "message_delta stop_reason %s", jstr(d, "stop_reason"));
        if (!cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(u, "output_tokens")))
            return fail(why, wl, "message_delta without usage.output_tokens%s", NULL);
        cJSON_ReplaceItemInObjectCaseSensitive(st->message, "stop_reason",
                                               cJSON_CreateString(jstr(d, "stop_reason")));
        cJSON_ReplaceItemInObjectCaseSensitive(
            st->message, "stop_sequence",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d, "stop_sequence"), 1));
        cJSON *mu = cJSON_GetObjectItemCaseSensitive(st->message, "usage");
        cJSON_ArrayForEach(x, u)
        {
            if (cJSON_IsNumber(x))
                cJSON_ReplaceItemInObjectCaseSensitive(mu, x->string,
                                                       cJSON_CreateNumber(x->valuedouble));
        }
        s->deltaed = 1;
        return 0;
    }
    if (is(name, "message_stop")) {
        if (s->open >= 0 || !s->deltaed)
            return fail(why, wl, "message_stop before the last block closed or the message_delta%s",
                        NULL);
        s->stopped = 1;
        return 0;
    }
    return fail(why, wl, "unknown event %s", name);
}

int at_check_sse(const char *sse, size_t n, struct at_stream *st, char *why, size_t wl)
{
    struct sse_state s;
    memset(st, 0, sizeof *st);
    memset(&s, 0, sizeof s);
    s.open = -1;
    gw_buf_init(&s.json, 0);
    int rc = 0;
    size_t off = 0;
    while (!rc && off < n) {
        const char *end = memmem(sse + off, n - off, "\n\n", 2);
        if (!end) {
            rc = fail(why, wl, "the stream ends inside an event%s", NULL);
            break;
        }
        char name[64] = "", *data = NULL;
        const char *p = sse + off;
        while (p < end) {
            const char *eol = memchr(p, '\n', (size_t)(end - p));
            if (!eol)
                eol = end;
            size_t ln = (size_t)(eol - p);
            if (ln > 7 && !memcmp(p, "event: ", 7) && ln - 7 < sizeof name) {
                memcpy(name, p + 7, ln - 7);
                name[ln - 7] = '\0';
            } else if (ln > 6 && !memcmp(p, "data: ", 6) && !data) {
                data = strndup(p + 6, ln - 6);
            } else {
                rc = fail(why, wl, "a line that is neither event: nor data: (or a second data:)%s",
                          NULL);
            }
            p = eol + 1;
        }
        off = (size_t)(end - sse) + 2;
        if (rc) {
            free(data);
            break;
        }
        cJSON *j = data ? cJSON_Parse(data) : NULL;
        free(data);
        st->events++;
        if (!name[0] || !cJSON_IsObject(j))
            rc = fail(why, wl, "an event without a name or JSON object data%s", NULL);
        else if (!is(jstr(j, "type"), name))
            rc = fail(why, wl, "event name %s differs from its JSON type", name);
        else
            rc = on_event(&s, st, name, j, why, wl);
        cJSON_Delete(j);
    }
    if (!rc && !s.errored && !s.stopped)
        rc = fail(why, wl, "stream ended without message_stop or an error event%s", NULL);
    gw_buf_free(&s.json);
    return rc;
}

/* ---- the renderer, driven ------------------------------------------------------------------- */

static int finish_of(const char *s)
{
    return is(s, "length")           ? AIGW_FINISH_LENGTH
           : is(s, "tool_calls")     ? AIGW_FINISH_TOOL_CALLS
           : is(s, "content_filter") ? AIGW_FINISH_CONTENT_FILTER
                                     : AIGW_FINISH_STOP;
}

static int64_t num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static void text_chunk(void *r, struct gw_buf *out, int type, int choice, const char *s)
{
    struct aigw_chunk c = aigw_chunk_init(type, choice);
    c.text = aigw_bytes_of(s);
    cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, out), 0);
}

char *at_render_script(const struct gw_parsed *p, const char *script, size_t *len)
{
    cJSON *steps = cJSON_Parse(script), *st;
    cr_assert(cJSON_IsArray(steps), "chunk script is not a JSON array");
    void *r = gw_dialect_anthropic.render_new(p, "routed-model", "req_test_0001");
    cr_assert_not_null(r);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int ended = 0;
    cJSON_ArrayForEach(st, steps)
    {
        const cJSON *v;
        int choice = (int)(num(st, "choice") > 0 ? num(st, "choice") : 0);
        if ((v = cJSON_GetObjectItemCaseSensitive(st, "meta"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_META, 0);
            c.id = aigw_bytes_of(jstr(v, "id"));
            c.name = aigw_bytes_of(jstr(v, "model"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (jstr(st, "text")) {
            text_chunk(r, &out, AIGW_CHUNK_TEXT, choice, jstr(st, "text"));
        } else if (jstr(st, "reasoning")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING, choice, jstr(st, "reasoning"));
        } else if (jstr(st, "signature")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING_SIGNATURE, choice, jstr(st, "signature"));
        } else if (jstr(st, "redacted")) {
            text_chunk(r, &out, AIGW_CHUNK_REASONING_REDACTED, choice, jstr(st, "redacted"));
        } else if (jstr(st, "refusal")) {
            text_chunk(r, &out, AIGW_CHUNK_REFUSAL, choice, jstr(st, "refusal"));
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "tool"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, choice);
            c.tool_index = (int)num(v, "index");
            c.id = aigw_bytes_of(jstr(v, "id"));
            c.name = aigw_bytes_of(jstr(v, "name"));
            c.text = aigw_bytes_of(jstr(v, "args"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (jstr(st, "finish")) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_FINISH, choice);
            c.finish = finish_of(jstr(st, "finish"));
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "usage"))) {
            struct aigw_usage u;
            aigw_usage_init(&u);
            u.prompt_tokens = num(v, "prompt");
            u.completion_tokens = num(v, "completion");
            u.cached_tokens = num(v, "cached");
            u.cache_write_tokens = num(v, "cache_write");
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
            c.usage = &u;
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "extra"))) {
            struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EXTRA, choice);
            c.name = aigw_bytes_of(jstr(v, "name"));
            c.extra = cJSON_GetObjectItemCaseSensitive(v, "value");
            cr_assert_eq(gw_dialect_anthropic.render_chunk(r, &c, &out), 0);
        } else if (cJSON_GetObjectItemCaseSensitive(st, "heartbeat")) {
            cr_assert_eq(gw_dialect_anthropic.render_heartbeat(r, &out), 0);
        } else if ((v = cJSON_GetObjectItemCaseSensitive(st, "error"))) {
            struct aigw_error e;
            aigw_error_init(&e);
            e.status = (int)num(v, "status");
            e.type = jstr(v, "type");
            e.message = jstr(v, "message");
            cr_assert_eq(gw_dialect_anthropic.render_stream_error(r, &e, &out), 0);
            ended = 1;
        } else {
            cr_assert_fail("unknown chunk script step");
        }
    }
    if (!ended)
        cr_assert_eq(gw_dialect_anthropic.render_end(r, &out), 0);
    gw_dialect_anthropic.render_free(r);
    cJSON_Delete(steps);
    cr_assert_eq(gw_buf_append(&out, "", 0), 0);
    return gw_buf_steal(&out, len);
}

/* ---- a real plugin in between ------------------------------------------------------------ */

static struct gw_plugins plugins;
static int plugins_loaded;

static struct gw_plugin *plugin(const char *vkey)
{
    if (!plugins_loaded) {
        const char *dir = getenv("AIGW_TEST_PLUGIN_DIR");
        cr_assert_not_null(dir, "AIGW_TEST_PLUGIN_DIR is not set (run through make check)");
        setenv("OPENAI_API_KEY", "sk-test-openai", 1);
        setenv("OPENAI_BASE_URL", "http://mock.test/v1", 1);
        setenv("ANTHROPIC_API_KEY", "sk-test-anthropic", 1);
        setenv("ANTHROPIC_BASE_URL", "http://mock.test", 1);
        setenv("GEMINI_API_KEY", "test-gemini-key", 1);
        setenv("GEMINI_BASE_URL", "http://mock.test", 1);
        setenv("COHERE_API_KEY", "test-cohere-key", 1);
        setenv("COHERE_BASE_URL", "http://mock.test", 1);
        cr_assert_eq(gw_plugins_load(&plugins, dir), 0);
        plugins_loaded = 1;
    }
    struct gw_plugin *p = gw_plugins_find(&plugins, vkey);
    cr_assert(p && p->active, "plugin %s is not loaded or not active", vkey);
    return p;
}

struct run {
    struct gw_call call;
    void *render;
    struct gw_buf out;
};

static int sink(void *ud, const struct aigw_chunk *c)
{
    struct run *r = ud;
    return gw_dialect_anthropic.render_chunk(r->render, c, &r->out);
}

static void run_begin(struct run *r, const struct gw_parsed *p, const char *vkey, const char *model)
{
    memset(r, 0, sizeof *r);
    gw_buf_init(&r->out, 0);
    cr_assert_eq(
        gw_call_init(&r->call, plugin(vkey), p->op, p->body, model, p->stream, p->include_usage),
        0);
    r->call.pub.inbound = "anthropic";
    r->call.pub.inbound_body = p->native;
    r->call.request_id = "req_test_0001";
    r->render = gw_dialect_anthropic.render_new(p, model, "req_test_0001");
    cr_assert_not_null(r->render);
    r->call.sink = sink;
    r->call.sink_ud = r;
}

static void add_headers(struct gw_call *c, const char *headers)
{
    const char *p = headers;
    while (p && *p) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *v = colon + 1;
            while (v < p + n && *v == ' ')
                v++;
            cr_assert_eq(gw_call_add_resp_header(c, p, (size_t)(colon - p), v, (size_t)(p + n - v)),
                         0);
        }
        p = eol ? eol + 2 : p + n;
    }
}

char *at_replay(const struct gw_parsed *p, const char *vkey, const char *model, int status,
                const char *headers, const char *body, size_t len, const size_t *cuts, size_t ncuts,
                int *client_status, size_t *out_len)
{
    struct run r;
    run_begin(&r, p, vkey, model);
    int rc = gw_exchange_begin(&r.call);
    if (rc == 0) {
        add_headers(&r.call, headers);
        rc = gw_exchange_headers(&r.call, status);
        size_t off = 0;
        for (size_t i = 0; rc == 0 && i <= ncuts; i++) {
            size_t end = i < ncuts ? cuts[i] : len;
            if (end > off)
                rc = gw_exchange_data(&r.call, body + off, end - off);
            off = end;
        }
        if (rc == 0)
            rc = gw_exchange_end(&r.call);
    }
    /* What the lifetime does with the outcome (proxy/deliver.c). */
    struct aigw_error err;
    if (!gw_outcome_error(&r.call, rc, &err)) {
        *client_status = 200;
        cr_assert_eq(gw_dialect_anthropic.render_end(r.render, &r.out), 0);
    } else if (p->stream && r.out.len) {
        *client_status = 200;
        cr_assert_eq(gw_dialect_anthropic.render_stream_error(r.render, &err, &r.out), 0);
    } else {
        *client_status = gw_error_status(&err);
        gw_buf_reset(&r.out);
        cr_assert_eq(gw_error_document(gw_dialect_anthropic.error_body, &r.out, *client_status,
                                       err.type, err.code, err.param, err.message),
                     0);
    }
    gw_dialect_anthropic.render_free(r.render);
    gw_call_free(&r.call);
    cr_assert_eq(gw_buf_append(&r.out, "", 0), 0);
    return gw_buf_steal(&r.out, out_len);
}

cJSON *at_upstream_body(const struct gw_parsed *p, const char *vkey, const char *model, char **url,
                        const char *header, char **header_value)
{
    struct run r;
    run_begin(&r, p, vkey, model);
    cr_assert_eq(gw_exchange_begin(&r.call), 0, "the %s plugin refused the request", vkey);
    cJSON *body = cJSON_ParseWithLength(r.call.body ? r.call.body : "", r.call.body_len);
    cr_assert_not_null(body, "upstream body is not JSON");
    if (url)
        *url = strdup(r.call.url ? r.call.url : "");
    if (header_value) {
        const char *v = gw_call_find_header(r.call.headers, header);
        *header_value = v ? strdup(v) : NULL;
    }
    gw_dialect_anthropic.render_free(r.render);
    gw_call_free(&r.call);
    gw_buf_free(&r.out);
    return body;
}
