/*
 * oai_compat - the shared OpenAI-wire translation (see oai_compat.h). Every OpenAI-compatible
 * upstream deviates a little (providers-B §0.2); the tolerance lives here so each plugin stays
 * a URL, an auth header and a list of fields to drop.
 */
#include "plugin/oai_compat.h"

#include "plugin/call.h"
#include "plugin/oai_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int emit_chunk(struct aigw_call *call, const struct aigw_chunk *c)
{
    int rc = call->host->emit(call, c);
    return rc < 0 ? rc : 0;
}

/* ---- finish reasons ---------------------------------------------------------------------- */

struct finish_name {
    const char *name;
    int finish;
};

static const struct finish_name finish_names[] = {
    {"stop", AIGW_FINISH_STOP},
    {"end_turn", AIGW_FINISH_STOP},
    {"stop_sequence", AIGW_FINISH_STOP},
    {"eos", AIGW_FINISH_STOP},
    {"complete", AIGW_FINISH_STOP},
    {"insufficient_system_resource", AIGW_FINISH_STOP},
    {"length", AIGW_FINISH_LENGTH},
    {"max_tokens", AIGW_FINISH_LENGTH},
    {"model_length", AIGW_FINISH_LENGTH},
    {"model_context_window_exceeded", AIGW_FINISH_LENGTH},
    {"tool_calls", AIGW_FINISH_TOOL_CALLS},
    {"tool_use", AIGW_FINISH_TOOL_CALLS},
    {"tool_call", AIGW_FINISH_TOOL_CALLS},
    {"content_filter", AIGW_FINISH_CONTENT_FILTER},
    {"safety", AIGW_FINISH_CONTENT_FILTER},
    {"recitation", AIGW_FINISH_CONTENT_FILTER},
    {"blocklist", AIGW_FINISH_CONTENT_FILTER},
    {"prohibited_content", AIGW_FINISH_CONTENT_FILTER},
    {"spii", AIGW_FINISH_CONTENT_FILTER},
    {"image_safety", AIGW_FINISH_CONTENT_FILTER},
    {"guardrail_intervened", AIGW_FINISH_CONTENT_FILTER},
    {"content_filtered", AIGW_FINISH_CONTENT_FILTER},
    {"function_call", AIGW_FINISH_FUNCTION_CALL},
};

int gw_finish_from_string(struct aigw_bytes reason)
{
    const char *p = reason.ptr;
    size_t n = reason.len, i;

    if (!p)
        return AIGW_FINISH_NONE;
    while (n && isspace((unsigned char)*p))
        p++, n--;
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    /* Some SDKs hand over the JSON literal, quotes included. */
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
        p++, n -= 2;
    if (n == 0)
        return AIGW_FINISH_NONE;
    for (i = 0; i < sizeof finish_names / sizeof finish_names[0]; i++) {
        const char *name = finish_names[i].name;
        if (strlen(name) == n && strncasecmp(name, p, n) == 0)
            return finish_names[i].finish;
    }
    /* Unknown reasons (Gemini OTHER, Mistral error, ...) still ended the choice. */
    return AIGW_FINISH_STOP;
}

static int emit_finish_json(struct aigw_call *call, int choice, const cJSON *reason)
{
    struct aigw_chunk c;
    if (!cJSON_IsString(reason))
        return 0;
    c = aigw_chunk_init(AIGW_CHUNK_FINISH, choice);
    c.finish = gw_finish_from_string(aigw_bytes_of(reason->valuestring));
    return c.finish == AIGW_FINISH_NONE ? 0 : emit_chunk(call, &c);
}

/* ---- usage ------------------------------------------------------------------------------- */

int gw_oai_usage_from_json(const cJSON *obj, struct aigw_usage *u)
{
    int64_t v;
    int found = 0;
    const cJSON *d;

    aigw_usage_init(u);
    if (!cJSON_IsObject(obj))
        return AIGW_EINVAL;
    /* gpt-image usage says input/output; chat usage says prompt/completion. */
    if (jint_key(obj, "prompt_tokens", &v) == 0 || jint_key(obj, "input_tokens", &v) == 0)
        u->prompt_tokens = v, found = 1;
    if (jint_key(obj, "completion_tokens", &v) == 0 || jint_key(obj, "output_tokens", &v) == 0)
        u->completion_tokens = v, found = 1;
    d = jget(obj, "prompt_tokens_details");
    if (jint_key(d, "cached_tokens", &v) == 0)
        u->cached_tokens = v, found = 1;
    else if (jint_key(obj, "prompt_cache_hit_tokens", &v) == 0) /* DeepSeek */
        u->cached_tokens = v, found = 1;
    d = jget(obj, "completion_tokens_details");
    if (jint_key(d, "reasoning_tokens", &v) == 0)
        u->reasoning_tokens = v, found = 1;
    /* Embeddings report only prompt + total; a total alone still says something was used. */
    if (u->prompt_tokens < 0 && u->completion_tokens < 0 && jint_key(obj, "total_tokens", &v) == 0)
        u->prompt_tokens = v, found = 1;
    return found ? 0 : AIGW_EINVAL;
}

static int emit_usage_json(struct aigw_call *call, const cJSON *obj)
{
    struct aigw_usage u;
    struct aigw_chunk c;
    if (!cJSON_IsObject(obj) || gw_oai_usage_from_json(obj, &u) != 0)
        return 0;
    c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    c.usage = &u;
    return emit_chunk(call, &c);
}

/* ---- content pieces ---------------------------------------------------------------------- */

static int emit_piece(struct aigw_call *call, int type, int choice, const char *s)
{
    struct aigw_chunk c;
    if (!s || !*s)
        return 0;
    c = aigw_chunk_init(type, choice);
    c.text = aigw_bytes_of(s);
    return emit_chunk(call, &c);
}

/* Mistral reasoning models send content as parts: {"type":"thinking","thinking":[{text}...]}
 * and {"type":"text","text"}. */
static int emit_content_parts(struct aigw_call *call, int choice, const cJSON *parts)
{
    const cJSON *p, *t;
    int rc;
    cJSON_ArrayForEach(p, parts)
    {
        const char *type = jstr(p, "type");
        if (cJSON_IsString(p)) {
            rc = emit_piece(call, AIGW_CHUNK_TEXT, choice, p->valuestring);
        } else if (type && strcmp(type, "thinking") == 0) {
            const cJSON *th = jget(p, "thinking");
            rc = 0;
            if (cJSON_IsString(th))
                rc = emit_piece(call, AIGW_CHUNK_REASONING, choice, th->valuestring);
            else
                cJSON_ArrayForEach(t, th)
                {
                    if ((rc = emit_piece(call, AIGW_CHUNK_REASONING, choice,
                                         jstr(t, "text"))))
                        break;
                }
        } else {
            rc = emit_piece(call, AIGW_CHUNK_TEXT, choice, jstr(p, "text"));
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* reasoning / content / refusal of a message or a delta. Empty strings say nothing. */
static int emit_message_text(struct aigw_call *call, int choice, const cJSON *m)
{
    const cJSON *content = jget(m, "content");
    const char *r = jstr(m, "reasoning_content");
    int rc = 0;

    if (!r || !*r)
        r = jstr(m, "reasoning");
    if ((rc = emit_piece(call, AIGW_CHUNK_REASONING, choice, r)))
        return rc;
    if (cJSON_IsString(content))
        rc = emit_piece(call, AIGW_CHUNK_TEXT, choice, content->valuestring);
    else if (cJSON_IsArray(content))
        rc = emit_content_parts(call, choice, content);
    if (rc)
        return rc;
    return emit_piece(call, AIGW_CHUNK_REFUSAL, choice, jstr(m, "refusal"));
}

/* One tool call (whole, or a stream piece). Arguments given as an object (some OpenAI-alikes)
 * are serialized. */
static int emit_tool_call(struct aigw_call *call, int choice, int index, const cJSON *tc, int whole)
{
    const cJSON *fn = jget(tc, "function");
    const cJSON *args = jget(fn, "arguments");
    const char *id = jstr(tc, "id"), *name = jstr(fn, "name"), *a = NULL;
    struct aigw_chunk c;

    if (cJSON_IsString(args))
        a = args->valuestring;
    else if (present(args) && !(a = call->host->json_print(call, args)))
        return AIGW_ENOMEM;
    if (id && !*id)
        id = NULL;
    if (name && !*name)
        name = NULL;
    if (!whole && !id && !name && (!a || !*a))
        return 0;
    if (whole && !a)
        a = "";
    c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, choice);
    c.tool_index = index;
    c.id = aigw_bytes_of(id);
    c.name = aigw_bytes_of(name);
    c.text = aigw_bytes_of(a);
    return emit_chunk(call, &c);
}

static int choice_index(const cJSON *ch, int pos)
{
    int64_t v;
    if (jint_key(ch, "index", &v) == 0 && v >= 0 && v < 1024)
        return (int)v;
    return pos;
}

static int emit_meta_json(struct aigw_call *call, const cJSON *root)
{
    const char *id = jstr(root, "id"), *model = jstr(root, "model");
    int64_t created = 0;
    struct aigw_chunk c;

    /* Azure's prompt-filter event carries id "" / model "" / created 0: not an identity. */
    if ((!id || !*id) && (!model || !*model))
        return 0;
    if (jint_key(root, "created", &created) != 0 || created < 0)
        created = 0;
    c = aigw_chunk_init(AIGW_CHUNK_META, 0);
    c.id = aigw_bytes_of(id);
    c.name = aigw_bytes_of(model);
    c.created = created;
    return emit_chunk(call, &c);
}

/* An {"error":...} document on a 2xx: report it in band. */
static int emit_inband_error(struct aigw_call *call, struct aigw_bytes body)
{
    struct aigw_error err;
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_ERROR, 0);
    int rc = gw_oai_map_error(call, body, &err);
    if (rc < 0)
        return rc;
    c.error = &err;
    return emit_chunk(call, &c);
}

/* ---- non-stream responses ---------------------------------------------------------------- */

static int parse_chat(struct aigw_call *call, const cJSON *root)
{
    static const char *const extras[] = {"citations", "search_results"};
    const cJSON *choices = jget(root, "choices"), *ch, *tc, *usage;
    int pos = 0, rc;
    size_t i;

    if (!cJSON_IsArray(choices))
        return AIGW_EPROTO;
    if ((rc = emit_meta_json(call, root)))
        return rc;
    cJSON_ArrayForEach(ch, choices)
    {
        const cJSON *msg = jget(ch, "message");
        int choice = choice_index(ch, pos), t = 0;
        if (!cJSON_IsObject(ch))
            return AIGW_EPROTO;
        if (cJSON_IsObject(msg)) {
            if ((rc = emit_message_text(call, choice, msg)))
                return rc;
            cJSON_ArrayForEach(tc, jget(msg, "tool_calls"))
            {
                if ((rc = emit_tool_call(call, choice, t++, tc, 1)))
                    return rc;
            }
        } else if (cJSON_IsString(jget(ch, "text"))) { /* legacy completions shape */
            if ((rc = emit_piece(call, AIGW_CHUNK_TEXT, choice, jstr(ch, "text"))))
                return rc;
        } else {
            return AIGW_EPROTO;
        }
        if ((rc = emit_finish_json(call, choice, jget(ch, "finish_reason"))))
            return rc;
        pos++;
    }
    usage = jget(root, "usage");
    if (!cJSON_IsObject(usage))
        usage = jget(jget(root, "x_groq"), "usage");
    if ((rc = emit_usage_json(call, usage)))
        return rc;
    for (i = 0; i < sizeof extras / sizeof extras[0]; i++) {
        const cJSON *v = jget(root, extras[i]);
        struct aigw_chunk c;
        if (!present(v))
            continue;
        c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
        c.name = aigw_bytes_of(extras[i]);
        c.extra = v;
        if ((rc = emit_chunk(call, &c)))
            return rc;
    }
    return 0;
}

/* encoding_format "base64": little-endian float32s. */
static double *decode_b64_vector(struct aigw_call *call, const char *s, size_t *n)
{
    size_t len = 0, i;
    unsigned char *raw = call->host->base64_decode(call, aigw_bytes_of(s), &len);
    double *v;

    if (!raw || len % 4 != 0)
        return NULL;
    *n = len / 4;
    v = call->host->alloc(call, (*n ? *n : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (i = 0; i < *n; i++) {
        const unsigned char *b = raw + 4 * i;
        uint32_t bits =
            (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        float f;
        memcpy(&f, &bits, sizeof f);
        v[i] = f;
    }
    return v;
}

static int parse_embeddings(struct aigw_call *call, const cJSON *root)
{
    const cJSON *data = jget(root, "data"), *item, *x;
    int pos = 0, rc;

    if (!cJSON_IsArray(data))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(item, data)
    {
        const cJSON *emb = jget(item, "embedding");
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EMBEDDING, choice_index(item, pos));
        double *v;
        size_t n = 0;

        if (cJSON_IsString(emb)) {
            if (!(v = decode_b64_vector(call, emb->valuestring, &n)))
                return AIGW_EPROTO;
        } else if (cJSON_IsArray(emb)) {
            size_t cnt = (size_t)cJSON_GetArraySize(emb);
            if (cnt > SIZE_MAX / sizeof *v)
                return AIGW_ETOOBIG;
            if (!(v = call->host->alloc(call, (cnt ? cnt : 1) * sizeof *v)))
                return AIGW_ENOMEM;
            cJSON_ArrayForEach(x, emb)
            {
                if (!cJSON_IsNumber(x) || n >= cnt)
                    return AIGW_EPROTO;
                v[n++] = x->valuedouble;
            }
        } else {
            return AIGW_EPROTO;
        }
        c.vector = v;
        c.vector_len = n;
        if ((rc = emit_chunk(call, &c)))
            return rc;
        pos++;
    }
    return emit_usage_json(call, jget(root, "usage"));
}

static int parse_images(struct aigw_call *call, const cJSON *root)
{
    const cJSON *data = jget(root, "data"), *item;
    int pos = 0, rc;

    if (!cJSON_IsArray(data))
        return AIGW_EPROTO;
    cJSON_ArrayForEach(item, data)
    {
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_IMAGE, choice_index(item, pos));
        const char *url = jstr(item, "url"), *b64 = jstr(item, "b64_json");
        if (b64 && *b64) {
            c.text = aigw_bytes_of(b64);
            c.is_b64 = 1;
        } else if (url && *url) {
            c.text = aigw_bytes_of(url);
        } else {
            return AIGW_EPROTO;
        }
        c.name = aigw_bytes_of(jstr(item, "revised_prompt"));
        if ((rc = emit_chunk(call, &c)))
            return rc;
        pos++;
    }
    return emit_usage_json(call, jget(root, "usage"));
}

int gw_oai_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    const cJSON *root = call->host->json_parse(call, body);
    const cJSON *err;

    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    err = jget(root, "error");
    if (present(err) && !jget(root, "choices") && !jget(root, "data"))
        return emit_inband_error(call, body);
    switch (call->op) {
    case AIGW_OP_CHAT:
        return parse_chat(call, root);
    case AIGW_OP_EMBEDDINGS:
        return parse_embeddings(call, root);
    case AIGW_OP_IMAGES:
        return parse_images(call, root);
    default:
        return AIGW_ENOTSUP;
    }
}

/* ---- streams ----------------------------------------------------------------------------- */

static int bytes_eq(struct aigw_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.len == n && b.ptr && memcmp(b.ptr, s, n) == 0;
}


int gw_oai_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    struct aigw_bytes data = trim(frame->data);
    const cJSON *choices, *ch, *usage;
    const cJSON *root;
    int pos = 0, rc;

    gw_call_of(call)->oai_stream = 1;
    if (!data.ptr || data.len == 0 || data.ptr[0] == ':')
        return 0;
    if (bytes_eq(data, "[DONE]")) {
        gw_call_of(call)->oai_ended = 1;
        return AIGW_DONE;
    }
    /* HF router providers send `event: ping` keep-alives with odd payloads. */
    if (bytes_eq(frame->event, "ping"))
        return 0;
    root = call->host->json_parse(call, data);
    if (!cJSON_IsObject(root))
        return AIGW_EPROTO;
    if (present(jget(root, "error")) || bytes_eq(frame->event, "error")) {
        rc = emit_inband_error(call, data);
        return rc < 0 ? rc : AIGW_DONE;
    }
    /* Identity once, from the first chunk that has one: nothing was emitted before it. */
    if (gw_call_of(call)->chunks_emitted == 0 && (rc = emit_meta_json(call, root)))
        return rc;
    choices = jget(root, "choices");
    cJSON_ArrayForEach(ch, choices)
    {
        const cJSON *delta = jget(ch, "delta"), *tc;
        int choice = choice_index(ch, pos), t = 0;
        if (cJSON_IsObject(delta)) {
            if ((rc = emit_message_text(call, choice, delta)))
                return rc;
            cJSON_ArrayForEach(tc, jget(delta, "tool_calls"))
            {
                if ((rc = emit_tool_call(call, choice, choice_index(tc, t), tc, 0)))
                    return rc;
                t++;
            }
        }
        if (cJSON_IsString(jget(ch, "finish_reason")))
            gw_call_of(call)->oai_ended = 1;
        if ((rc = emit_finish_json(call, choice, jget(ch, "finish_reason"))))
            return rc;
        pos++;
    }
    usage = jget(root, "usage");
    if (!cJSON_IsObject(usage))
        usage = jget(jget(root, "x_groq"), "usage");
    return emit_usage_json(call, usage);
}
