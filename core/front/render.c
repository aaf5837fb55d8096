/* render - chunks to OpenAI JSON (see render.h). */
#include "front/render.h"
#include "front/render_int.h"
#include "plugin/usage.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "lib/crypto.h"
#include "lib/jsonprint.h"
#include "plugin/errors.h"

const char *gw_finish_name(int finish)
{
    switch (finish) {
    case AIGW_FINISH_LENGTH:
        return "length";
    case AIGW_FINISH_TOOL_CALLS:
        return "tool_calls";
    case AIGW_FINISH_CONTENT_FILTER:
        return "content_filter";
    case AIGW_FINISH_FUNCTION_CALL:
        return "function_call";
    default:
        return "stop";
    }
}

int gw_json_escape(struct gw_buf *out, const char *p, size_t n)
{
    return gw_json_quote(out, p, n, 0);
}

int gw_render_init(struct gw_render *r, int op, int stream, int include_usage, int legacy,
                   const char *model, const char *request_id)
{
    memset(r, 0, sizeof *r);
    r->op = op;
    r->stream = stream;
    r->include_usage = include_usage;
    r->legacy = legacy;
    r->created = (int64_t)time(NULL);
    r->model = strdup(model ? model : "");
    char rnd[33];
    if (!request_id) {
        gw_random_hex(rnd);
        request_id = rnd;
    }
    /* The prefix and at most 64 bytes of the request id: r->id holds both. */
    _Static_assert(sizeof r->id >= sizeof "chatcmpl-" + 64, "r->id holds prefix and id");
    size_t pl = gw_strlcpy(r->id, legacy ? "cmpl-" : "chatcmpl-", sizeof r->id);
    gw_strlcpy(r->id + pl, request_id, 64 + 1);
    r->usage.prompt_tokens = r->usage.completion_tokens = r->usage.cached_tokens = -1;
    r->usage.cache_write_tokens = r->usage.reasoning_tokens = -1;
    r->items = cJSON_CreateArray();
    r->extras = cJSON_CreateObject();
    return r->model && r->items && r->extras ? 0 : AIGW_ENOMEM;
}

static void free_choice(struct gw_render_choice *ch)
{
    gw_buf_free(&ch->text);
    gw_buf_free(&ch->reasoning);
    gw_buf_free(&ch->refusal);
    if (ch->tools) {
        for (int t = 0; t < GW_RENDER_MAX_TOOLS; t++) {
            free(ch->tools[t].id);
            free(ch->tools[t].name);
            gw_buf_free(&ch->tools[t].args);
        }
        free(ch->tools);
    }
}

void gw_render_free(struct gw_render *r)
{
    for (int i = 0; i < r->nchoices; i++)
        free_choice(&r->choices[i]);
    free(r->choices);
    free(r->model);
    free(r->ev_head);
    cJSON_Delete(r->items);
    cJSON_Delete(r->extras);
    memset(r, 0, sizeof *r);
}

struct gw_render_choice *gw_render_choice(struct gw_render *r, int idx)
{
    if (idx < 0 || idx >= GW_RENDER_MAX_CHOICES)
        return NULL;
    if (idx >= r->nchoices) {
        struct gw_render_choice *c = realloc(r->choices, sizeof *c * (size_t)(idx + 1));
        if (!c)
            return NULL;
        memset(c + r->nchoices, 0, sizeof *c * (size_t)(idx + 1 - r->nchoices));
        for (int i = r->nchoices; i <= idx; i++) {
            gw_buf_init(&c[i].text, 0);
            gw_buf_init(&c[i].reasoning, 0);
            gw_buf_init(&c[i].refusal, 0);
        }
        r->choices = c;
        r->nchoices = idx + 1;
    }
    return &r->choices[idx];
}

static struct gw_render_tool *tool(struct gw_render_choice *ch, int t)
{
    if (t < 0 || t >= GW_RENDER_MAX_TOOLS)
        return NULL;
    if (!ch->tools) {
        ch->tools = calloc(GW_RENDER_MAX_TOOLS, sizeof *ch->tools);
        if (!ch->tools)
            return NULL;
        for (int i = 0; i < GW_RENDER_MAX_TOOLS; i++)
            gw_buf_init(&ch->tools[i].args, 0);
    }
    return &ch->tools[t];
}

/* data: {"id":..,"object":..,"created":..,"model":..,"choices":[{"index":i, */
/* <lead>{"id":..,"object":<object>,"created":..,"model":.. (a chunk or the whole document). */
/* lead (a key with its punctuation) and a number. */
int gw_render_member_i64(struct gw_buf *out, const char *lead, int64_t v)
{
    int rc = gw_buf_append_str(out, lead);
    return rc ? rc : gw_buf_append_i64(out, v);
}

int gw_render_doc_head(const struct gw_render *r, struct gw_buf *out, const char *lead,
                       const char *object)
{
    int rc = gw_buf_append_str(out, lead);
    if (!rc)
        rc = gw_buf_append_str(out, "{\"id\":");
    if (!rc)
        rc = gw_json_escape(out, r->id, strlen(r->id));
    if (!rc)
        rc = gw_buf_append_strs(out, ",\"object\":\"", object, "\"", NULL);
    if (!rc)
        rc = gw_render_member_i64(out, ",\"created\":", r->created);
    if (!rc)
        rc = gw_buf_append_str(out, ",\"model\":");
    if (!rc)
        rc = gw_json_escape(out, r->model, strlen(r->model));
    return rc;
}

int gw_render_open_event(struct gw_render *r, struct gw_buf *out, int idx)
{
    r->id_fixed = 1;
    if (!r->ev_head) {
        /* id, model and created are fixed from here on, so every event of the stream opens
         * with the same bytes: written once, copied after (rendering them each time, with
         * two escapes, was ~2k instructions per event). */
        struct gw_buf h;
        gw_buf_init(&h, out->cap);
        int rc = gw_render_doc_head(
            r, &h, "data: ", r->legacy ? "text_completion" : "chat.completion.chunk");
        if (rc) {
            gw_buf_free(&h);
            return rc;
        }
        char *p = gw_buf_steal(&h, &r->ev_head_len);
        char *fit = realloc(p, r->ev_head_len + 1); /* held as long as the stream is */
        r->ev_head = fit ? fit : p;
    }
    int rc = gw_buf_append(out, r->ev_head, r->ev_head_len);
    if (rc || idx < 0)
        return rc;
    if (idx < 10) { /* nearly always: the choice and its comma in the same append */
        char lead[] = ",\"choices\":[{\"index\":0,";
        lead[sizeof lead - 3] = (char)('0' + idx);
        return gw_buf_append(out, lead, sizeof lead - 1);
    }
    rc = gw_render_member_i64(out, ",\"choices\":[{\"index\":", idx);
    return rc ? rc : gw_buf_append(out, ",", 1);
}

static int close_event(struct gw_render *r, struct gw_buf *out, const char *finish, int with_extras)
{
    int rc;
    if (finish)
        rc =
            gw_buf_append_strs(out, "\"logprobs\":null,\"finish_reason\":\"", finish, "\"}]", NULL);
    else
        rc = gw_buf_append_str(out, "\"logprobs\":null,\"finish_reason\":null}]");
    if (!rc && with_extras && cJSON_GetArraySize(r->extras) > 0) {
        for (cJSON *e = ((cJSON *)r->extras)->child; e && !rc; e = e->next) {
            rc = gw_buf_append(out, ",", 1);
            if (!rc)
                rc = gw_json_escape(out, e->string, strlen(e->string));
            if (!rc)
                rc = gw_buf_append(out, ":", 1);
            if (!rc)
                rc = gw_json_print(out, e);
        }
    }
    if (!rc)
        rc = gw_buf_append_str(out, "}\n\n");
    r->bytes_out = (int64_t)out->len;
    return rc;
}

/* A delta event's end: "}," then close_event(r, out, NULL, 0), in one append. */
static int close_delta(struct gw_render *r, struct gw_buf *out)
{
    static const char end[] = "},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    int rc = gw_buf_append(out, end, sizeof end - 1);
    r->bytes_out = (int64_t)out->len;
    return rc;
}

/* One delta event for choice idx. `field` is the delta key (content, reasoning_content,
 * refusal) with text; the role rides along on the choice's first event. */
static int delta_event(struct gw_render *r, struct gw_buf *out, int idx, const char *field,
                       const char *p, size_t n)
{
    struct gw_render_choice *ch = gw_render_choice(r, idx);
    if (!ch)
        return AIGW_EINVAL;
    int rc = gw_render_open_event(r, out, idx);
    if (r->legacy) {
        if (!rc)
            rc = gw_buf_append_str(out, "\"text\":");
        if (!rc)
            rc = gw_json_escape(out, p ? p : "", p ? n : 0);
        if (!rc)
            rc = gw_buf_append(out, ",", 1);
        ch->started = 1;
        return rc ? rc : close_event(r, out, NULL, 0);
    }
    char key[64];
    size_t fl = field ? strlen(field) : 0;
    if (!rc && ch->started && field && fl <= sizeof key - 12) {
        /* The usual token event: its delta's opening and key in one append. */
        memcpy(key, "\"delta\":{\"", 10);
        memcpy(key + 10, field, fl);
        memcpy(key + 10 + fl, "\":", 2);
        rc = gw_buf_append(out, key, fl + 12);
        if (!rc)
            rc = gw_json_escape(out, p, n);
        return rc ? rc : close_delta(r, out);
    }
    if (!rc)
        rc = gw_buf_append_str(out, "\"delta\":{");
    if (!rc && !ch->started) {
        rc = gw_buf_append_str(out, "\"role\":\"assistant\"");
        if (!rc && (!field || strcmp(field, "content")))
            rc = gw_buf_append_str(out, ",\"content\":\"\"");
        if (!rc && field)
            rc = gw_buf_append(out, ",", 1);
        ch->started = 1;
    }
    if (!rc && field) {
        rc = gw_buf_append_strs(out, "\"", field, "\":", NULL);
        if (!rc)
            rc = gw_json_escape(out, p, n);
    }
    return rc ? rc : close_delta(r, out);
}

/* The first piece of a tool call fixes its id (the upstream's, or one made from the response
 * id so it is unique across turns) and its function name. */
static int tool_begin(struct gw_render *r, struct gw_render_choice *ch, struct gw_render_tool *t,
                      const struct aigw_chunk *c)
{
    char gen[64];
    if (!c->id.len)
        snprintf(gen, sizeof gen, "call_%.24s_%d", r->id + (r->legacy ? 5 : 9), c->tool_index);
    t->id = c->id.len ? strndup(c->id.ptr, c->id.len) : strdup(gen);
    t->name = strndup(c->name.ptr ? c->name.ptr : "", c->name.len);
    if (!t->id || !t->name)
        return AIGW_ENOMEM;
    if (c->tool_index >= ch->ntools)
        ch->ntools = c->tool_index + 1;
    return 0;
}

static int tool_event(struct gw_render *r, struct gw_buf *out, const struct aigw_chunk *c)
{
    struct gw_render_choice *ch = gw_render_choice(r, c->choice);
    if (!ch)
        return AIGW_EINVAL;
    if (!ch->started) {
        int rc = delta_event(r, out, c->choice, NULL, NULL, 0);
        if (rc)
            return rc;
    }
    struct gw_render_tool *t = tool(ch, c->tool_index);
    if (!t)
        return AIGW_EINVAL;
    int first = !t->id && !t->name;
    if (first && tool_begin(r, ch, t, c) < 0)
        return AIGW_ENOMEM;
    int rc = gw_render_open_event(r, out, c->choice);
    if (!rc)
        rc = gw_render_member_i64(out, "\"delta\":{\"tool_calls\":[{\"index\":", c->tool_index);
    if (!rc)
        rc = gw_buf_append(out, ",", 1);
    if (!rc && first) {
        rc = gw_buf_append_str(out, "\"id\":");
        if (!rc)
            rc = gw_json_escape(out, t->id, strlen(t->id));
        if (!rc)
            rc = gw_buf_append_str(out, ",\"type\":\"function\",\"function\":{\"name\":");
        if (!rc)
            rc = gw_json_escape(out, t->name, strlen(t->name));
        if (!rc)
            rc = gw_buf_append_str(out, ",\"arguments\":");
    } else if (!rc) {
        rc = gw_buf_append_str(out, "\"function\":{\"arguments\":");
    }
    if (!rc)
        rc = gw_json_escape(out, c->text.ptr ? c->text.ptr : "", c->text.ptr ? c->text.len : 0);
    if (!rc)
        rc = gw_buf_append_str(out, "}}]},");
    return rc ? rc : close_event(r, out, NULL, 0);
}

int gw_render_start(struct gw_render *r, struct gw_buf *out)
{
    if (!r->stream)
        return 0;
    if (r->legacy) /* a text completion has no role to announce: the stream's first comment */
        return gw_buf_append_str(out, ": keep-alive\n\n");
    struct gw_render_choice *ch = gw_render_choice(r, 0);
    if (!ch)
        return AIGW_ENOMEM;
    if (ch->started || ch->finished)
        return 0;
    /* The role delta the first content would have carried; that content then goes without
     * it, as OpenAI's own streams send them. */
    return delta_event(r, out, 0, NULL, NULL, 0);
}

int gw_render_finish_event(struct gw_render *r, struct gw_buf *out, int idx)
{
    struct gw_render_choice *ch = gw_render_choice(r, idx);
    if (!ch)
        return AIGW_EINVAL;
    if (!ch->started && !r->legacy) {
        int rc = delta_event(r, out, idx, NULL, NULL, 0);
        if (rc)
            return rc;
    }
    ch->finished = 1;
    int rc = gw_render_open_event(r, out, idx);
    if (!rc)
        rc = gw_buf_append_str(out, r->legacy ? "\"text\":\"\"," : "\"delta\":{},");
    return rc ? rc : close_event(r, out, gw_finish_name(ch->finish), idx == 0);
}

int gw_render_default_finish(const struct gw_render_choice *ch)
{
    return ch->ntools > 0 ? AIGW_FINISH_TOOL_CALLS : AIGW_FINISH_STOP;
}

static void merge_usage(struct gw_render *r, const struct aigw_usage *u)
{
    if (!u)
        return;
    gw_usage_merge(&r->usage, u);
    r->have_usage = 1;
}

static int add_item(struct gw_render *r, const struct aigw_chunk *c)
{
    cJSON *it = cJSON_CreateObject();
    if (!it)
        return AIGW_ENOMEM;
    if (c->type == AIGW_CHUNK_EMBEDDING) {
        cJSON_AddStringToObject(it, "object", "embedding");
        cJSON_AddNumberToObject(it, "index", c->choice);
        cJSON *v = cJSON_AddArrayToObject(it, "embedding");
        for (size_t i = 0; v && i < c->vector_len; i++)
            cJSON_AddItemToArray(v, cJSON_CreateNumber(c->vector[i]));
    } else if (c->type == AIGW_CHUNK_IMAGE) {
        char *s = strndup(c->text.ptr ? c->text.ptr : "", c->text.len);
        if (s)
            cJSON_AddStringToObject(it, c->is_b64 ? "b64_json" : "url", s);
        free(s);
        if (c->name.len) {
            s = strndup(c->name.ptr, c->name.len);
            if (s)
                cJSON_AddStringToObject(it, "revised_prompt", s);
            free(s);
        }
    } else {
        char *s = strndup(c->id.ptr ? c->id.ptr : "", c->id.len);
        if (s)
            cJSON_AddStringToObject(it, "id", s);
        free(s);
    }
    cJSON_AddItemToArray(r->items, it);
    return 0;
}

int gw_render_chunk(struct gw_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    struct gw_render_choice *ch;
    switch (c->type) {
    case AIGW_CHUNK_META:
        if (!r->id_fixed) {
            if (c->id.len && c->id.len < sizeof r->id) {
                memcpy(r->id, c->id.ptr, c->id.len);
                r->id[c->id.len] = '\0';
            }
            if (c->name.len) {
                char *m = strndup(c->name.ptr, c->name.len);
                if (m) {
                    free(r->model);
                    r->model = m;
                }
            }
            if (c->created > 0)
                r->created = c->created;
        }
        return 0;
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REASONING:
    case AIGW_CHUNK_REFUSAL:
        ch = gw_render_choice(r, c->choice);
        if (!ch)
            return AIGW_EINVAL;
        if (ch->finished || !c->text.len)
            return 0;
        if (r->stream) {
            if (r->legacy && c->type != AIGW_CHUNK_TEXT)
                return 0;
            return delta_event(r, out, c->choice,
                               c->type == AIGW_CHUNK_TEXT        ? "content"
                               : c->type == AIGW_CHUNK_REASONING ? "reasoning_content"
                                                                 : "refusal",
                               c->text.ptr, c->text.len);
        }
        ch->started = 1;
        return gw_buf_append(c->type == AIGW_CHUNK_TEXT        ? &ch->text
                             : c->type == AIGW_CHUNK_REASONING ? &ch->reasoning
                                                               : &ch->refusal,
                             c->text.ptr, c->text.len);
    case AIGW_CHUNK_TOOL_CALL:
        ch = gw_render_choice(r, c->choice);
        if (!ch)
            return AIGW_EINVAL;
        if (ch->finished)
            return 0;
        if (r->stream && !r->legacy)
            return tool_event(r, out, c);
        {
            struct gw_render_tool *t = tool(ch, c->tool_index);
            if (!t)
                return AIGW_EINVAL;
            ch->started = 1;
            if (!t->id && !t->name && tool_begin(r, ch, t, c) < 0)
                return AIGW_ENOMEM;
            return gw_buf_append(&t->args, c->text.ptr ? c->text.ptr : "", c->text.len);
        }
    case AIGW_CHUNK_FINISH:
        ch = gw_render_choice(r, c->choice);
        if (!ch)
            return AIGW_EINVAL;
        if (ch->finished)
            return 0; /* exactly one finish per choice */
        ch->finish = c->finish == AIGW_FINISH_NONE ? gw_render_default_finish(ch) : c->finish;
        if (ch->finish == AIGW_FINISH_STOP && ch->ntools > 0)
            ch->finish = AIGW_FINISH_TOOL_CALLS;
        if (r->stream)
            return gw_render_finish_event(r, out, c->choice);
        ch->finished = 1;
        return 0;
    case AIGW_CHUNK_USAGE:
        merge_usage(r, c->usage);
        return 0;
    case AIGW_CHUNK_EMBEDDING:
    case AIGW_CHUNK_IMAGE:
    case AIGW_CHUNK_MODEL:
        return add_item(r, c);
    case AIGW_CHUNK_EXTRA:
        if (c->name.len && c->extra) {
            char *k = strndup(c->name.ptr, c->name.len);
            cJSON *v = cJSON_Duplicate(c->extra, 1);
            if (!k || !v) {
                free(k);
                cJSON_Delete(v);
                return AIGW_ENOMEM;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(r->extras, k);
            cJSON_AddItemToObject(r->extras, k, v);
            free(k);
        }
        return 0;
    default:
        return 0; /* unknown chunk types from newer plugins are ignored */
    }
}
