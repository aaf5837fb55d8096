/*
 * window - the answer side of a run: a filter over normalized chunks. Text (content,
 * reasoning, refusal) flows per (choice, kind) stream through one stage per delta guard, in
 * chain order: a stage appends what reaches it to what it holds, its guard sees all of that (in
 * whole characters, with the bytes it passed on just before as context), edits it with
 * replace(), and the stage passes on everything but the last `window` bytes and whatever the
 * guard asked to hold. So a pattern up to `window` bytes long split across deltas at any
 * offset is seen whole before a byte of it leaves, and each guard judges exactly the text the
 * guards before it let through, as it would the whole answer at once: what the client gets does
 * not depend on where the deltas were cut (fuzz_guard_stream checks this). Anything else of a
 * choice (a tool call, its finish, an error) first flushes the choice's held text, so order is
 * kept; tool calls are held whole and read by the same guards (tools.c). Final hooks run on a
 * choice's finish with its whole text; one that waits for a service call queues what arrives
 * meanwhile.
 */
#include "guard/guard_int.h"

#include <stdlib.h>
#include <string.h>

static int output_on(const struct gw_guard_run *run)
{
    return (run->chain->stages & AIGW_GUARD_OUTPUT) && run->op == AIGW_OP_CHAT;
}

static int is_text(int type)
{
    return type == AIGW_CHUNK_TEXT || type == AIGW_CHUNK_REASONING || type == AIGW_CHUNK_REFUSAL;
}

static struct gw_guard_choice *choice_of(struct gw_guard_run *run, int choice)
{
    for (size_t i = 0; i < run->nchoices; i++)
        if (run->choices[i].choice == choice)
            return &run->choices[i];
    if (run->nchoices >= GW_GUARD_STREAMS_MAX)
        return NULL;
    struct gw_guard_choice *c = realloc(run->choices, (run->nchoices + 1) * sizeof *c);
    if (!c)
        return NULL;
    run->choices = c;
    c = &run->choices[run->nchoices++];
    memset(c, 0, sizeof *c);
    c->choice = choice;
    gw_buf_init(&c->answer, GW_GUARD_ANSWER_CAP);
    return c;
}

void gw_guard_stream_free(const struct gw_guard_chain *c, struct gw_guard_stream *s)
{
    for (size_t i = 0; s->st && i < c->n; i++) {
        gw_buf_free(&s->st[i].pending);
        gw_buf_free(&s->st[i].before);
    }
    free(s->st);
    s->st = NULL;
}

static struct gw_guard_stream *stream_of(struct gw_guard_run *run, int choice, int kind)
{
    const struct gw_guard_chain *c = run->chain;
    for (size_t i = 0; i < run->nstreams; i++)
        if (run->streams[i].choice == choice && run->streams[i].kind == kind)
            return &run->streams[i];
    if (run->nstreams >= GW_GUARD_STREAMS_MAX)
        return NULL;
    struct gw_guard_stream *s = realloc(run->streams, (run->nstreams + 1) * sizeof *s);
    if (!s)
        return NULL;
    run->streams = s;
    s = &run->streams[run->nstreams];
    memset(s, 0, sizeof *s);
    if (!(s->st = calloc(c->n, sizeof *s->st)))
        return NULL;
    run->nstreams++;
    s->choice = choice;
    s->kind = kind;
    for (size_t i = 0; i < c->n; i++) {
        gw_buf_init(&s->st[i].pending, GW_GUARD_PENDING_CAP);
        gw_buf_init(&s->st[i].before, GW_GUARD_WINDOW_CAP + GW_GUARD_BEFORE_MIN);
    }
    return s;
}

/* A choice's text kept for its final hooks; past the cap they cannot judge it (overflow). */
static void keep_answer(struct gw_guard_run *run, int choice, int kind, const char *p, size_t n)
{
    if (!run->chain->has_final || kind != AIGW_CHUNK_TEXT || !n)
        return;
    struct gw_guard_choice *c = choice_of(run, choice);
    if (c && !c->overflow && gw_buf_append(&c->answer, p, n))
        c->overflow = 1;
}

/* Where text stops being whole characters: the start of a UTF-8 sequence cut by the end of
 * the delta (its continuation bytes are still to come), else len. */
static size_t whole_chars(const char *p, size_t len)
{
    for (size_t k = 1; k <= 3 && k <= len; k++) {
        unsigned char c = (unsigned char)p[len - k];
        if ((c & 0xC0) == 0x80)
            continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > k ? len - k : len;
    }
    return len;
}

/* Stage st passes its first n bytes on: into out, remembering their tail as its context. */
static int pass_on(const struct gw_guard_run *run, struct gw_guard_stage *st, size_t n,
                   struct gw_buf *out)
{
    size_t keep =
        run->chain->window > GW_GUARD_BEFORE_MIN ? run->chain->window : GW_GUARD_BEFORE_MIN;
    int rc = gw_buf_append(out, st->pending.ptr, n);
    if (rc)
        return rc;
    const char *tail = st->pending.ptr + (n > keep ? n - keep : 0);
    size_t tl = n > keep ? keep : n;
    if (gw_buf_append(&st->before, tail, tl) == 0 && st->before.len > keep) {
        size_t cut = st->before.len - keep;
        while (cut < st->before.len && ((unsigned char)st->before.ptr[cut] & 0xC0) == 0x80)
            cut++; /* start the context on a character */
        gw_buf_consume(&st->before, cut);
    }
    st->sent += n;
    gw_buf_consume(&st->pending, n);
    return 0;
}

/* Entry i's stage of stream s: runs its delta hook over what it holds (fresh: how many bytes
 * just arrived) and passes on into out what it has settled. final: pass everything on. */
static int stage(struct gw_guard_run *run, struct gw_guard_stream *s, size_t i, size_t fresh,
                 int final, struct gw_buf *out)
{
    const struct gw_guard_entry *e = &run->chain->entries[i];
    struct gw_guard_stage *st = &s->st[i];
    for (;;) {
        size_t len = st->pending.len;
        size_t see = final ? len : whole_chars(st->pending.ptr, len), rel = see;
        if (run->hx[i].skip) /* failed open: a pipe */
            return pass_on(run, st, len, out);
        if (see || final) {
            size_t f0 = fresh < see ? fresh : see;
            struct aigw_guard_text t = {AIGW_ABI_VERSION,
                                        sizeof t,
                                        s->choice,
                                        s->kind,
                                        {st->before.ptr, st->before.len},
                                        {st->pending.ptr ? st->pending.ptr : "", see},
                                        f0,
                                        st->sent,
                                        final,
                                        see};
            int v = gw_guard_call(run, i, GW_HOOK_DELTA, &t, NULL);
            if (v != GW_GUARD_ALLOW)
                return v;
            if (run->hx[i].skip) /* it failed open just now */
                return pass_on(run, st, len, out);
            size_t hold = t.hold < see ? t.hold : see;
            if (!final && see - hold < e->window)
                hold = see > e->window ? see - e->window : 0;
            int rc = gw_guard_apply_edits(run, &st->pending, &hold, 1);
            if (rc < 0)
                return rc;
            len = st->pending.len;
            rel = final ? len : hold;
        }
        if (!final) {
            /* Never split a UTF-8 sequence (a renderer might escape the halves). */
            for (int k = 0; k < 3 && rel > 0 && rel < len &&
                            ((unsigned char)st->pending.ptr[rel] & 0xC0) == 0x80;
                 k++)
                rel--;
            if (len - rel > GW_GUARD_HOLD_CAP) {
                final = 1; /* too much held: one last look, then out it goes */
                fresh = 0;
                continue;
            }
        }
        return rel ? pass_on(run, st, rel, out) : 0;
    }
}

/* Text of stream s (p, n: a delta, or nothing when flushing) through every delta guard's stage
 * in chain order; what the last one passes on is emitted. final: flush every stage. */
static int process(struct gw_guard_run *run, struct gw_guard_stream *s, const char *p, size_t n,
                   int final, gw_guard_emit_fn emit, void *ud)
{
    const struct gw_guard_chain *c = run->chain;
    struct gw_buf a, b, *in = &a, *out = &b, *tmp;
    int rc = 0;
    gw_buf_init(&a, GW_GUARD_PENDING_CAP);
    gw_buf_init(&b, GW_GUARD_PENDING_CAP);
    if (n)
        rc = gw_buf_append(in, p, n);
    for (size_t i = 0; !rc && i < c->n; i++) {
        const struct gw_guard_entry *e = &c->entries[i];
        if (!(e->stages & AIGW_GUARD_OUTPUT) || !e->mod->desc.on_answer_delta)
            continue;
        if (!in->len && !final)
            break; /* nothing new reaches the later stages */
        rc = in->len ? gw_buf_append(&s->st[i].pending, in->ptr, in->len) : 0;
        if (!rc)
            rc = stage(run, s, i, in->len, final, out);
        gw_buf_reset(in);
        tmp = in, in = out, out = tmp;
    }
    if (!rc && in->len) {
        struct aigw_chunk ch = aigw_chunk_init(s->kind, s->choice);
        ch.text.ptr = in->ptr;
        ch.text.len = in->len;
        keep_answer(run, s->choice, s->kind, in->ptr, in->len);
        rc = emit(ud, &ch);
    }
    gw_buf_free(&a);
    gw_buf_free(&b);
    return rc;
}

/* Whether any stage of s holds text. */
static int holding(const struct gw_guard_run *run, const struct gw_guard_stream *s)
{
    for (size_t i = 0; i < run->chain->n; i++)
        if (s->st[i].pending.len)
            return 1;
    return 0;
}

/* Flushes the held text of a choice's streams (all of them, or all but one kind). */
static int flush_text(struct gw_guard_run *run, int choice, int except_kind, gw_guard_emit_fn emit,
                      void *ud)
{
    for (size_t i = 0; i < run->nstreams; i++) {
        struct gw_guard_stream *s = &run->streams[i];
        if ((choice >= 0 && s->choice != choice) || s->kind == except_kind || !holding(run, s))
            continue;
        int v = process(run, s, NULL, 0, 1, emit, ud);
        if (v != GW_GUARD_ALLOW)
            return v;
    }
    return GW_GUARD_ALLOW;
}

/* Flushes what a choice holds: its tool calls (begun before any text it holds now: a call
 * flushes the text before it), then its text. */
static int flush_choice(struct gw_guard_run *run, int choice, int except_kind,
                        gw_guard_emit_fn emit, void *ud)
{
    int v = run->ntools ? gw_guard_tool_flush(run, choice, emit, ud) : GW_GUARD_ALLOW;
    return v != GW_GUARD_ALLOW ? v : flush_text(run, choice, except_kind, emit, ud);
}

/* The final hooks of one choice, from entry `from` on. */
static int run_final(struct gw_guard_run *run, int choice, int finish, size_t from)
{
    const struct gw_guard_chain *c = run->chain;
    struct gw_guard_choice *ch = choice_of(run, choice);
    if (!ch)
        return AIGW_ENOMEM;
    if (ch->done)
        return GW_GUARD_ALLOW;
    struct aigw_guard_answer a = {AIGW_ABI_VERSION,
                                  sizeof a,
                                  choice,
                                  {ch->answer.ptr ? ch->answer.ptr : "", ch->answer.len},
                                  finish < 0 ? AIGW_FINISH_NONE : finish,
                                  ch->tool_calls,
                                  run->stream};
    for (size_t i = from; i < c->n; i++) {
        const struct gw_guard_entry *e = &c->entries[i];
        int v;
        if (!(e->stages & AIGW_GUARD_OUTPUT) || !e->mod->desc.on_answer_final || run->hx[i].skip)
            continue;
        if (ch->overflow) {
            v = gw_guard_fail(run, i, GW_HOOK_FINAL, "the answer is too large to judge");
        } else {
            v = gw_guard_call(run, i, GW_HOOK_FINAL, &a, NULL);
        }
        if (v == GW_GUARD_PENDING) {
            run->wait_choice = choice;
            run->wait_next = i;
            run->wait_finish = finish;
            return v;
        }
        if (v == GW_GUARD_RETRY)
            run->retry_choice = choice;
        if (v != GW_GUARD_ALLOW)
            return v;
    }
    ch->done = 1;
    return GW_GUARD_ALLOW;
}

static int queue_chunk(struct gw_guard_run *run, const struct aigw_chunk *c)
{
    struct gw_arena *a = &run->arena;
    if (run->nqueue == run->queue_cap) {
        size_t cap = run->queue_cap ? run->queue_cap * 2 : 16;
        if (cap > GW_GUARD_QUEUE_CAP)
            return AIGW_ETOOBIG;
        struct gw_guard_queued *q = realloc(run->queue, cap * sizeof *q);
        if (!q)
            return AIGW_ENOMEM;
        run->queue = q;
        run->queue_cap = cap;
    }
    struct gw_guard_queued *q = &run->queue[run->nqueue];
    memset(q, 0, sizeof *q);
    q->c = aigw_chunk_init(c->type, c->choice);
    q->c.tool_index = c->tool_index;
    q->c.finish = c->finish;
    q->c.created = c->created;
    q->c.is_b64 = c->is_b64;
    q->c.id.ptr = gw_arena_strndup(a, c->id.ptr ? c->id.ptr : "", c->id.len);
    q->c.id.len = c->id.len;
    q->c.name.ptr = gw_arena_strndup(a, c->name.ptr ? c->name.ptr : "", c->name.len);
    q->c.name.len = c->name.len;
    q->c.text.ptr = gw_arena_strndup(a, c->text.ptr ? c->text.ptr : "", c->text.len);
    q->c.text.len = c->text.len;
    if (!q->c.id.ptr || !q->c.name.ptr || !q->c.text.ptr)
        return AIGW_ENOMEM;
    if (c->usage) {
        q->usage = *c->usage;
        q->c.usage = &q->usage;
    }
    if (c->error) {
        q->error = *c->error;
        q->error.type =
            c->error->type ? gw_arena_strndup(a, c->error->type, strlen(c->error->type)) : NULL;
        q->error.code =
            c->error->code ? gw_arena_strndup(a, c->error->code, strlen(c->error->code)) : NULL;
        q->error.param =
            c->error->param ? gw_arena_strndup(a, c->error->param, strlen(c->error->param)) : NULL;
        q->error.message = c->error->message
                               ? gw_arena_strndup(a, c->error->message, strlen(c->error->message))
                               : NULL;
        q->c.error = &q->error;
    }
    if (c->vector && c->vector_len) {
        double *v = gw_arena_alloc(a, c->vector_len * sizeof *v);
        if (!v)
            return AIGW_ENOMEM;
        memcpy(v, c->vector, c->vector_len * sizeof *v);
        q->c.vector = v;
        q->c.vector_len = c->vector_len;
    }
    if (c->extra && !(q->extra = cJSON_Duplicate(c->extra, 1)))
        return AIGW_ENOMEM;
    q->c.extra = q->extra;
    run->nqueue++;
    return GW_GUARD_PENDING;
}

static int error_chunk(struct gw_guard_run *run, const struct aigw_chunk *c, gw_guard_emit_fn emit,
                       void *ud)
{
    int v = flush_choice(run, -1, -1, emit, ud);
    if (v != GW_GUARD_ALLOW)
        return v;
    if (!c->error || !run->chain->has_error)
        return emit(ud, c);
    struct aigw_error err = *c->error;
    struct aigw_chunk copy = *c;
    int rc = gw_guard_on_error(run, &err);
    if (rc < 0)
        return rc;
    copy.error = &err;
    return emit(ud, &copy);
}

int gw_guard_on_chunk(struct gw_guard_run *run, const struct aigw_chunk *c, gw_guard_emit_fn emit,
                      void *ud)
{
    int v;
    if (run->verdict != GW_GUARD_ALLOW)
        return run->verdict == GW_GUARD_RETRY ? GW_GUARD_RETRY : run->verdict;
    if (run->pending)
        return queue_chunk(run, c);
    if (!output_on(run))
        return emit(ud, c);
    if (is_text(c->type)) {
        if ((v = flush_choice(run, c->choice, c->type, emit, ud)) != GW_GUARD_ALLOW)
            return v;
        if (!run->chain->has_delta) {
            keep_answer(run, c->choice, c->type, c->text.ptr, c->text.len);
            return emit(ud, c);
        }
        struct gw_guard_stream *s = stream_of(run, c->choice, c->type);
        if (!s)
            return AIGW_ETOOBIG;
        return c->text.len ? process(run, s, c->text.ptr, c->text.len, 0, emit, ud) : 0;
    }
    switch (c->type) {
    case AIGW_CHUNK_TOOL_CALL: {
        if ((v = flush_text(run, c->choice, -1, emit, ud)) != GW_GUARD_ALLOW)
            return v;
        struct gw_guard_choice *ch = run->chain->has_final ? choice_of(run, c->choice) : NULL;
        if (ch && c->tool_index >= ch->tool_calls)
            ch->tool_calls = c->tool_index + 1;
        /* Its arguments are read by the delta guards as text is: held whole first. */
        return run->chain->has_delta ? gw_guard_tool_hold(run, c, emit, ud) : emit(ud, c);
    }
    case AIGW_CHUNK_FINISH:
        if ((v = flush_choice(run, c->choice, -1, emit, ud)) != GW_GUARD_ALLOW)
            return v;
        if (run->chain->has_final) {
            v = run_final(run, c->choice, c->finish, 0);
            if (v == GW_GUARD_PENDING) {
                run->finish_chunk = *c;
                run->have_finish_chunk = 1;
            }
            if (v != GW_GUARD_ALLOW)
                return v;
        }
        return emit(ud, c);
    case AIGW_CHUNK_ERROR:
        return error_chunk(run, c, emit, ud);
    case AIGW_CHUNK_REASONING_SIGNATURE:
    case AIGW_CHUNK_REASONING_REDACTED:
    case AIGW_CHUNK_EXTRA:
        /* A signature closes its thinking, and a native answer's block boundaries (EXTRA)
         * close its text: the text held before them goes first. Usage and metadata do not
         * (some upstreams repeat them with every delta: the window would hold nothing). */
        if ((v = flush_choice(run, c->choice, -1, emit, ud)) != GW_GUARD_ALLOW)
            return v;
        return emit(ud, c);
    default:
        return emit(ud, c);
    }
}

int gw_guard_on_end(struct gw_guard_run *run, gw_guard_emit_fn emit, void *ud)
{
    int v;
    if (run->verdict != GW_GUARD_ALLOW)
        return run->verdict;
    if (run->pending) {
        run->end_seen = 1;
        return GW_GUARD_PENDING;
    }
    if (run->ended || !output_on(run))
        return GW_GUARD_ALLOW;
    if ((v = flush_choice(run, -1, -1, emit, ud)) != GW_GUARD_ALLOW)
        return v;
    if (run->chain->has_final) {
        if (!run->nchoices && !choice_of(run, 0))
            return AIGW_ENOMEM; /* an empty answer is judged too */
        for (size_t i = 0; i < run->nchoices; i++) {
            v = run_final(run, run->choices[i].choice, -1, 0);
            if (v == GW_GUARD_PENDING)
                run->end_seen = 1;
            if (v != GW_GUARD_ALLOW)
                return v;
        }
    }
    run->ended = 1;
    return GW_GUARD_ALLOW;
}

int gw_guard_resume(struct gw_guard_run *run, gw_guard_emit_fn emit, void *ud)
{
    int v;
    if (!run->pending || run->pend_hook != GW_HOOK_FINAL)
        return AIGW_EINVAL; /* the request stage resumes through gw_guard_on_request */
    if (run->fetch_state == 1)
        return GW_GUARD_PENDING;
    size_t next = run->wait_next;
    if (run->fetch_state == 3) {
        if ((v = gw_guard_fetch_failure(run, GW_HOOK_FINAL)) != GW_GUARD_ALLOW)
            return v;
        next++;
    }
    v = run_final(run, run->wait_choice, run->wait_finish, next);
    if (v != GW_GUARD_ALLOW)
        return v;
    if (run->have_finish_chunk) {
        run->have_finish_chunk = 0;
        int rc = emit(ud, &run->finish_chunk);
        if (rc < 0)
            return rc;
    }
    /* Replay what arrived while waiting; a hook may wait again, and re-queues the rest. */
    struct gw_guard_queued *q = run->queue;
    size_t n = run->nqueue, k = 0;
    run->queue = NULL;
    run->nqueue = run->queue_cap = 0;
    for (v = GW_GUARD_ALLOW; k < n && (v == GW_GUARD_ALLOW || v == GW_GUARD_PENDING); k++)
        v = gw_guard_on_chunk(run, &q[k].c, emit, ud);
    for (k = 0; k < n; k++)
        cJSON_Delete(q[k].extra);
    free(q);
    if (v != GW_GUARD_ALLOW)
        return v;
    if (run->end_seen) {
        run->end_seen = 0;
        return gw_guard_on_end(run, emit, ud);
    }
    return GW_GUARD_ALLOW;
}

int gw_guard_on_error(struct gw_guard_run *run, struct aigw_error *err)
{
    const struct gw_guard_chain *c = run->chain;
    struct gw_buf msg;
    int rc = 0, changed = 0, withheld = 0;
    if (!err->message || !c->has_error)
        return 0;
    gw_buf_init(&msg, GW_GUARD_PENDING_CAP);
    rc = gw_buf_append_str(&msg, err->message);
    for (size_t i = 0; !rc && i < c->n; i++) {
        const struct gw_guard_entry *e = &c->entries[i];
        if (!(e->stages & AIGW_GUARD_OUTPUT) || !e->mod->desc.on_error || run->hx[i].skip)
            continue;
        struct aigw_guard_text t = {
            AIGW_ABI_VERSION, sizeof t, 0, 0,      {"", 0}, {msg.ptr ? msg.ptr : "", msg.len},
            msg.len,          0,        1, msg.len};
        int v = gw_guard_call(run, i, GW_HOOK_ERROR, err, &t);
        if (v == GW_GUARD_FAILED) {
            withheld = 1; /* it could not vouch for the message: none of it goes out */
            break;
        }
        changed |= run->nedits > 0;
        rc = gw_guard_apply_edits(run, &msg, NULL, 0);
    }
    if (withheld)
        err->message = "the upstream error message was withheld by a guardrail";
    else if (!rc && changed)
        err->message = gw_arena_strndup(&run->arena, msg.ptr ? msg.ptr : "", msg.len);
    gw_buf_free(&msg);
    if (!rc && changed && !err->message)
        rc = AIGW_ENOMEM;
    return rc < 0 ? rc : 0;
}

/* Forgets the answer so far: the text every stage holds or kept as context (the windows),
 * each choice's text for the final hooks, the held tool calls, a RETRY asked about it. What
 * the run knows of the request (its entries' outcomes, skips, state) stays. */
static void answer_clear(struct gw_guard_run *run)
{
    for (size_t i = 0; i < run->nstreams; i++)
        gw_guard_stream_free(run->chain, &run->streams[i]);
    for (size_t i = 0; i < run->nchoices; i++)
        gw_buf_free(&run->choices[i].answer);
    gw_guard_tools_free(run);
    for (size_t i = 0; i < run->nqueue; i++)
        cJSON_Delete(run->queue[i].extra);
    run->nstreams = run->nchoices = run->nqueue = 0;
    run->have_finish_chunk = run->end_seen = run->ended = 0;
    if (run->verdict == GW_GUARD_RETRY)
        run->verdict = GW_GUARD_ALLOW;
    run->retry_note = NULL;
}

int gw_guard_retry_body(struct gw_guard_run *run, cJSON *body)
{
    if (run->verdict != GW_GUARD_RETRY || !run->retry_note)
        return AIGW_EINVAL;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
    struct gw_guard_choice *ch = choice_of(run, run->retry_choice);
    if (!cJSON_IsArray(msgs) || !ch)
        return AIGW_EINVAL;
    cJSON *a = cJSON_CreateObject(), *u = cJSON_CreateObject();
    char *text = strndup(ch->answer.ptr ? ch->answer.ptr : "", ch->answer.len);
    if (!a || !u || !text || !cJSON_AddStringToObject(a, "role", "assistant") ||
        !cJSON_AddStringToObject(a, "content", text) ||
        !cJSON_AddStringToObject(u, "role", "user") ||
        !cJSON_AddStringToObject(u, "content", run->retry_note)) {
        free(text);
        cJSON_Delete(a);
        cJSON_Delete(u);
        return AIGW_ENOMEM;
    }
    free(text);
    cJSON_AddItemToArray(msgs, a);
    cJSON_AddItemToArray(msgs, u);
    /* The next answer starts from nothing, and is the last one a guard may send back. */
    answer_clear(run);
    run->attempt = 1;
    return 0;
}

int gw_guard_answer_reset(struct gw_guard_run *run)
{
    if (run->pending || run->verdict == GW_GUARD_DENY || run->verdict == GW_GUARD_FAILED)
        return AIGW_EINVAL; /* a hook waits on that answer, or refused it: no other follows */
    answer_clear(run);
    return 0;
}
