/*
 * anthropic_render - normalized chunks -> Anthropic content blocks (see anthropic_render.h).
 *
 * Blocks are sequential, as Anthropic sends them: one open at a time, each closed before the
 * next starts. Text and thinking stream as they come. Tool calls open in the order they first
 * appear; the open one streams its arguments live, a later one is held until the open one's
 * arguments form a whole JSON value, so providers that interleave the pieces of parallel calls
 * still give each block its own, complete arguments. Text or thinking that arrives while a
 * call's arguments are unfinished waits for them (it would otherwise close the call's block
 * early); it goes out once every call is whole, or at the end.
 */
#include "front/anthropic_render.h"
#include "plugin/usage.h"

#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/log.h"

static void scan_json(struct anth_json_scan *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (s->in_str) {
            if (s->esc)
                s->esc = 0;
            else if (ch == '\\')
                s->esc = 1;
            else if (ch == '"')
                s->in_str = 0;
        } else if (ch == '"') {
            s->in_str = 1;
        } else if (ch == '{' || ch == '[') {
            s->depth++;
            s->opened = 1;
            s->complete = 0;
        } else if ((ch == '}' || ch == ']') && s->depth > 0) {
            if (--s->depth == 0 && s->opened)
                s->complete = 1;
        }
    }
}

static void count_out(struct anth_render *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x80)
            r->out_ascii++;
        else if ((ch & 0xc0) != 0x80)
            r->out_other++;
    }
}

void *gw_anth_render_new(const struct gw_parsed *p, const char *model, const char *request_id)
{
    struct anth_render *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->ctx = p->ctx;
    r->stream = p->stream;
    r->count_tokens = p->op == AIGW_OP_COUNT_TOKENS;
    /* The client's model string, as Anthropic echoes it (Claude Code keys on it). */
    r->model = strdup(p->model && *p->model ? p->model : (model ? model : ""));
    char rnd[33];
    if (!request_id || !*request_id) {
        gw_random_hex(rnd);
        request_id = rnd;
    }
    size_t o = gw_strlcpy(r->id, "msg_", sizeof r->id);
    for (const char *s = request_id; *s && o < 4 + 64; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
            *s == '_' || *s == '-')
            r->id[o++] = *s;
    r->id[o] = '\0';
    aigw_usage_init(&r->usage);
    r->open_tool = -1;
    r->start_input = -1;
    gw_buf_init(&r->text, 0);
    gw_buf_init(&r->sig, 0);
    gw_buf_init(&r->dhead, 0);
    r->content = r->stream ? NULL : cJSON_CreateArray();
    if (!r->model || (!r->stream && !r->content)) {
        gw_anth_render_free(r);
        return NULL;
    }
    return r;
}

void gw_anth_render_free(void *p)
{
    struct anth_render *r = p;
    if (!r)
        return;
    if (r->late_pieces)
        gw_logf(AIGW_LOG_WARN, "anthropic", NULL,
                "%d tool argument piece(s) arrived after their block closed and were dropped",
                r->late_pieces);
    for (int i = 0; i < r->ntools; i++) {
        free(r->tools[i].name);
        gw_buf_free(&r->tools[i].args);
    }
    free(r->tools);
    free(r->order);
    for (int i = 0; i < r->nheld; i++)
        free(r->held[i].text);
    free(r->held);
    free(r->model);
    free(r->stop_reason);
    free(r->stop_sequence);
    cJSON_Delete(r->content);
    gw_buf_free(&r->text);
    gw_buf_free(&r->sig);
    gw_buf_free(&r->dhead);
    free(r);
}

/* ---- tools ---------------------------------------------------------------------------- */

/* Slot i (below ANTH_MAX_TOOLS), allocating the slots up to it; NULL when out of memory. */
static struct anth_tool *tool_slot(struct anth_render *r, int i)
{
    if (i < r->ntools)
        return &r->tools[i];
    int n = r->ntools ? r->ntools : 4;
    while (n <= i)
        n *= 2;
    if (n > ANTH_MAX_TOOLS)
        n = ANTH_MAX_TOOLS;
    struct anth_tool *t = realloc(r->tools, (size_t)n * sizeof *t);
    if (!t)
        return NULL;
    r->tools = t;
    int *o = realloc(r->order, (size_t)n * sizeof *o);
    if (!o)
        return NULL; /* the larger tools block is kept; ntools says what is in use */
    r->order = o;
    memset(t + r->ntools, 0, (size_t)(n - r->ntools) * sizeof *t);
    for (int k = r->ntools; k < n; k++)
        gw_buf_init(&t[k].args, 0);
    r->ntools = n;
    return &t[i];
}

static int tool_open(struct anth_render *r, struct gw_buf *out, int slot)
{
    struct anth_tool *t = &r->tools[slot];
    cJSON *head = cJSON_CreateObject();
    if (!head || !cJSON_AddStringToObject(head, "type", "tool_use") ||
        !cJSON_AddStringToObject(head, "id", t->id) ||
        !cJSON_AddStringToObject(head, "name", t->name ? t->name : "") ||
        !cJSON_AddObjectToObject(head, "input")) {
        cJSON_Delete(head);
        return AIGW_ENOMEM;
    }
    int rc = anth_ev_open(r, out, ANTH_B_TOOL, head);
    cJSON_Delete(head);
    if (rc)
        return rc;
    t->state = ANTH_T_OPEN;
    r->open_tool = slot;
    r->tool_blocks++;
    return 0;
}

/* The open tool's held arguments go out. */
static int tool_flush(struct anth_render *r, struct gw_buf *out)
{
    struct anth_tool *t = &r->tools[r->open_tool];
    if (!t->args.len)
        return 0;
    int rc =
        anth_ev_delta(r, out, "input_json_delta", "partial_json", t->args.ptr, t->args.len, NULL);
    gw_buf_reset(&t->args);
    return rc;
}

int anth_first_pending(const struct anth_render *r)
{
    for (int i = 0; i < r->norder; i++)
        if (r->tools[r->order[i]].state == ANTH_T_PENDING)
            return r->order[i];
    return -1;
}

/* Closes whatever block is open (a tool's held arguments first). */
int anth_close_open(struct anth_render *r, struct gw_buf *out)
{
    int rc = 0;
    if (r->open == ANTH_B_NONE)
        return 0;
    if (r->open == ANTH_B_TOOL) {
        rc = tool_flush(r, out);
        r->tools[r->open_tool].state = ANTH_T_CLOSED;
        r->open_tool = -1;
    } else if (r->open == ANTH_B_THINKING && !r->signed_) {
        /* Clients drop a thinking block without a signature. This one is aigw's, recognisable
         * so it is never replayed to a real Anthropic model. */
        char sig[160];
        size_t n = gw_strlcpy(sig, GW_ANTH_SIG_PREFIX, sizeof sig);
        gw_strlcpy(sig + n, r->id, sizeof sig - n);
        rc = anth_ev_delta(r, out, "signature_delta", "signature", sig, strlen(sig), NULL);
    }
    if (!rc)
        rc = anth_ev_close(r, out);
    return rc;
}

/* Every tool still held, each as one whole block. */
int anth_flush_tools(struct anth_render *r, struct gw_buf *out)
{
    int rc = 0, slot;
    while (!rc && (slot = anth_first_pending(r)) >= 0) {
        if ((rc = anth_close_open(r, out)) == 0 && (rc = tool_open(r, out, slot)) == 0)
            rc = tool_flush(r, out);
    }
    return rc ? rc : anth_close_open(r, out);
}

/* After a tool piece: send what may go out now, and move on to the next tool once the open
 * one's arguments are whole. */
int anth_pump(struct anth_render *r, struct gw_buf *out)
{
    int rc = 0;
    for (;;) {
        int next = anth_first_pending(r);
        if (r->open == ANTH_B_TOOL) {
            if ((rc = tool_flush(r, out)) != 0)
                return rc;
            if (next < 0 || !r->tools[r->open_tool].scan.complete)
                return 0;
            if ((rc = anth_close_open(r, out)) != 0)
                return rc;
        } else if (next >= 0) {
            if ((rc = anth_close_open(r, out)) != 0 || (rc = tool_open(r, out, next)) != 0)
                return rc;
        } else {
            return 0;
        }
    }
}

/* A call whose arguments are still arriving (seen, not closed, not a whole value yet). */
static int unfinished_tool(const struct anth_render *r)
{
    for (int i = 0; i < r->norder; i++) {
        const struct anth_tool *t = &r->tools[r->order[i]];
        if (t->state != ANTH_T_CLOSED && !t->scan.complete)
            return 1;
    }
    return 0;
}

static int hold(struct anth_render *r, const struct aigw_chunk *c)
{
    if (r->nheld >= ANTH_MAX_HELD || c->text.len > ANTH_MAX_HELD_BYTES - r->held_bytes)
        return AIGW_ETOOBIG;
    if (r->nheld == r->cap_held) {
        int cap = r->cap_held ? r->cap_held * 2 : 16;
        struct anth_held *h = realloc(r->held, sizeof *h * (size_t)cap);
        if (!h)
            return AIGW_ENOMEM;
        r->held = h;
        r->cap_held = cap;
    }
    struct anth_held *h = r->held;
    r->held_bytes += c->text.len;
    h[r->nheld].type = c->type;
    h[r->nheld].len = c->text.len;
    h[r->nheld].text = malloc(c->text.len + 1);
    if (!h[r->nheld].text)
        return AIGW_ENOMEM;
    memcpy(h[r->nheld].text, c->text.ptr, c->text.len);
    r->nheld++;
    return 0;
}

static int on_content(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out);

/* What was held goes out, in order (tools whole by now, or being closed at the end). */
static int release(struct anth_render *r, struct gw_buf *out)
{
    int rc = 0, n = r->nheld;
    struct anth_held *h = r->held;
    r->held = NULL;
    r->nheld = r->cap_held = 0;
    r->held_bytes = 0;
    for (int i = 0; i < n; i++) {
        struct aigw_chunk c = aigw_chunk_init(h[i].type, 0);
        c.text.ptr = h[i].text;
        c.text.len = h[i].len;
        if (!rc)
            rc = on_content(r, &c, out);
        free(h[i].text);
    }
    free(h);
    return rc;
}

static int on_tool(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    if (c->tool_index < 0 || c->tool_index >= ANTH_MAX_TOOLS)
        return AIGW_EINVAL;
    struct anth_tool *t = tool_slot(r, c->tool_index);
    if (!t)
        return AIGW_ENOMEM;
    if (!t->seen) {
        const char *name = c->name.ptr ? c->name.ptr : "";
        const char *client = gw_anth_client_name(r->ctx, name, c->name.len);
        t->seen = 1;
        gw_anth_answer_tool_id(c->id.ptr, c->id.len, r->id, c->tool_index, t->id);
        t->name = client ? strdup(client) : strndup(name, c->name.len);
        if (!t->name)
            return AIGW_ENOMEM;
        r->order[r->norder++] = c->tool_index;
    }
    if (t->state == ANTH_T_CLOSED) {
        if (c->text.len)
            r->late_pieces++;
        return 0;
    }
    if (c->text.len) {
        int rc = gw_buf_append(&t->args, c->text.ptr, c->text.len);
        if (rc)
            return rc;
        scan_json(&t->scan, c->text.ptr, c->text.len);
        count_out(r, c->text.ptr, c->text.len);
    }
    int rc = anth_pump(r, out);
    if (!rc && r->nheld && !unfinished_tool(r))
        rc = release(r, out);
    return rc;
}

/* ---- text, thinking, redacted --------------------------------------------------------- */

int anth_open_simple(struct anth_render *r, struct gw_buf *out, int kind)
{
    int rc = anth_flush_tools(r, out);
    if (rc)
        return rc;
    cJSON *head = cJSON_CreateObject();
    int ok =
        head && cJSON_AddStringToObject(head, "type", kind == ANTH_B_TEXT ? "text" : "thinking");
    if (ok && kind == ANTH_B_TEXT)
        ok = cJSON_AddStringToObject(head, "text", "") != NULL;
    else if (ok)
        ok = cJSON_AddStringToObject(head, "thinking", "") &&
             cJSON_AddStringToObject(head, "signature", "");
    rc = ok ? anth_ev_open(r, out, kind, head) : AIGW_ENOMEM;
    cJSON_Delete(head);
    r->signed_ = 0;
    return rc;
}

static int on_text(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    int rc = 0;
    if (!c->text.len)
        return 0; /* never an empty delta (nor a block for nothing) */
    if (r->open != ANTH_B_TEXT && !(r->open == ANTH_B_RAW && r->raw_text))
        rc = anth_open_simple(r, out, ANTH_B_TEXT);
    count_out(r, c->text.ptr, c->text.len);
    return rc ? rc : anth_ev_delta(r, out, "text_delta", "text", c->text.ptr, c->text.len, NULL);
}

static int on_thinking(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    int rc = 0;
    if (!c->text.len)
        return 0;
    /* A signed block is finished: more thinking is a new block (interleaved thinking). */
    if (r->open != ANTH_B_THINKING || r->signed_)
        rc = anth_open_simple(r, out, ANTH_B_THINKING);
    count_out(r, c->text.ptr, c->text.len);
    return rc ? rc
              : anth_ev_delta(r, out, "thinking_delta", "thinking", c->text.ptr, c->text.len, NULL);
}

static int on_signature(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    int rc = 0;
    if (!c->text.len)
        return 0;
    /* Thinking shown as "omitted" still comes as a block with its signature. */
    if (r->open != ANTH_B_THINKING || r->signed_)
        rc = anth_open_simple(r, out, ANTH_B_THINKING);
    r->signed_ = 1;
    return rc ? rc
              : anth_ev_delta(r, out, "signature_delta", "signature", c->text.ptr, c->text.len,
                              NULL);
}

static int on_redacted(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    if (!c->text.len)
        return 0;
    int rc = anth_flush_tools(r, out);
    char *data = strndup(c->text.ptr ? c->text.ptr : "", c->text.len);
    cJSON *head = cJSON_CreateObject();
    if (!rc && (!data || !head || !cJSON_AddStringToObject(head, "type", "redacted_thinking") ||
                !cJSON_AddStringToObject(head, "data", data)))
        rc = AIGW_ENOMEM;
    if (!rc)
        rc = anth_ev_open(r, out, ANTH_B_RAW, head);
    if (!rc)
        rc = anth_ev_close(r, out);
    free(data);
    cJSON_Delete(head);
    return rc;
}

/* ---- the dialect's entry points --------------------------------------------------------- */

static void merge_usage(struct anth_render *r, const struct aigw_usage *u)
{
    if (!u)
        return;
    gw_usage_merge(&r->usage, u);
    r->have_usage = 1;
}

int gw_anth_render_chunk(void *p, const struct aigw_chunk *c, struct gw_buf *out)
{
    struct anth_render *r = p;
    if (r->ended)
        return 0;
    if (c->type == AIGW_CHUNK_USAGE) {
        merge_usage(r, c->usage);
        return 0;
    }
    if (c->type == AIGW_CHUNK_META) {
        /* An Anthropic upstream's own message id is kept; chat ids (chatcmpl-...) are not. */
        if (!r->started && c->id.len > 4 && c->id.len < sizeof r->id &&
            !memcmp(c->id.ptr, "msg_", 4)) {
            memcpy(r->id, c->id.ptr, c->id.len);
            r->id[c->id.len] = '\0';
        }
        return 0;
    }
    if (c->choice != 0 || r->count_tokens)
        return 0; /* one answer per message */
    switch (c->type) {
    case AIGW_CHUNK_FINISH:
        if (!r->finish)
            r->finish = c->finish ? c->finish : AIGW_FINISH_STOP;
        return 0;
    case AIGW_CHUNK_EXTRA:
        break;
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REFUSAL:
    case AIGW_CHUNK_REASONING:
    case AIGW_CHUNK_REASONING_SIGNATURE:
    case AIGW_CHUNK_REASONING_REDACTED:
    case AIGW_CHUNK_TOOL_CALL:
        break;
    default:
        return 0;
    }
    int rc = anth_ev_message_start(r, out);
    if (rc)
        return rc;
    if (c->type == AIGW_CHUNK_TOOL_CALL)
        return on_tool(r, c, out);
    if (c->type == AIGW_CHUNK_EXTRA)
        return anth_on_extra(r, c, out);
    if (c->text.len && (r->nheld || unfinished_tool(r)))
        return hold(r, c);
    return on_content(r, c, out);
}

static int on_content(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    switch (c->type) {
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REFUSAL:
        return on_text(r, c, out);
    case AIGW_CHUNK_REASONING:
        return on_thinking(r, c, out);
    case AIGW_CHUNK_REASONING_SIGNATURE:
        return on_signature(r, c, out);
    case AIGW_CHUNK_REASONING_REDACTED:
        return on_redacted(r, c, out);
    default:
        return 0;
    }
}

static const char *stop_reason(const struct anth_render *r)
{
    if (r->stop_reason && *r->stop_reason)
        return r->stop_reason;
    switch (r->finish) {
    case AIGW_FINISH_LENGTH:
        return "max_tokens";
    case AIGW_FINISH_TOOL_CALLS:
    case AIGW_FINISH_FUNCTION_CALL:
        return "tool_use";
    case AIGW_FINISH_CONTENT_FILTER:
        return "refusal";
    default:
        /* Some providers say "stop" after calling tools; the client must run them. */
        return r->tool_blocks ? "tool_use" : "end_turn";
    }
}

int gw_anth_render_end(void *p, struct gw_buf *out)
{
    struct anth_render *r = p;
    if (r->ended)
        return 0;
    if (r->count_tokens) {
        r->ended = 1;
        return anth_ev_count(r, out);
    }
    int rc = anth_ev_message_start(r, out);
    if (!rc)
        rc = anth_flush_tools(r, out);
    if (!rc && r->nheld) {
        rc = release(r, out);
        if (!rc)
            rc = anth_flush_tools(r, out);
    }
    if (!rc)
        rc = anth_ev_finish(r, out, stop_reason(r));
    r->ended = 1;
    return rc;
}

int gw_anth_render_stream_error(void *p, const struct aigw_error *e, struct gw_buf *out)
{
    struct anth_render *r = p;
    r->ended = 1;
    /* Anthropic ends a failed stream with the error event alone: no block stop, no
     * message_stop (the SDKs throw on it). */
    int rc = gw_buf_append_str(out, "event: error\ndata: ");
    if (!rc)
        rc = gw_anth_error_body(out, e ? e->status : 500, e ? e->type : NULL, NULL, NULL,
                                e && e->message ? e->message : "upstream error");
    return rc ? rc : gw_buf_append_str(out, "\n\n");
}

int gw_anth_render_start(void *p, struct gw_buf *out)
{
    struct anth_render *r = p;
    /* The first content would have opened with message_start (no ping follows it there
     * either); it finds it sent and goes straight to its block. */
    if (!r->stream || r->started || r->ended || r->count_tokens)
        return 0;
    return anth_ev_message_start(r, out);
}

int gw_anth_render_heartbeat(void *p, struct gw_buf *out)
{
    struct anth_render *r = p;
    /* Never before message_start: strict clients reject any event ahead of it. */
    if (!r->stream || !r->started || r->ended)
        return 0;
    return gw_buf_append_str(out, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
}
