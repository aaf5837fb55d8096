/* anth_check - what the official SDKs make of an Anthropic answer (see anth_check.h). */
#include "front/anth_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

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
        const cJSON *cr = cJSON_GetObjectItemCaseSensitive(u, "cache_read_input_tokens");
        const cJSON *cc = cJSON_GetObjectItemCaseSensitive(u, "cache_creation_input_tokens");
        st->start_cache = (cJSON_IsNumber(cr) ? (int64_t)cr->valuedouble : 0) +
                          (cJSON_IsNumber(cc) ? (int64_t)cc->valuedouble : 0);
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
