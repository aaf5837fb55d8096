/* run - one request's pass through the chain: calling hooks and settling what they return,
 * the request stage, service calls, verdicts, the retry and the summary (see guard.h). The
 * answer's chunk filter is in window.c. */
#include "guard/guard_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/redact.h"

static char *dup_opt(struct gw_arena *a, const char *s)
{
    return gw_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

static int named(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

struct gw_guard_run *gw_guard_run_new(const struct gw_guard_chain *chain,
                                      const struct gw_guard_run_opts *o)
{
    if (!chain)
        return NULL;
    struct gw_guard_run *run = calloc(1, sizeof *run);
    if (!run)
        return NULL;
    run->chain = chain;
    gw_arena_init(&run->arena, GW_GUARD_RUN_ARENA);
    gw_buf_init(&run->edit_bytes, GW_GUARD_PENDING_CAP);
    run->op = o ? o->op : AIGW_OP_CHAT;
    run->stream = o ? o->stream : 0;
    run->model = dup_opt(&run->arena, o ? o->model : NULL);
    run->inbound = dup_opt(&run->arena, o ? o->inbound : NULL);
    run->request_id = dup_opt(&run->arena, o ? o->request_id : NULL);
    run->hx = gw_arena_alloc(&run->arena, (chain->n ? chain->n : 1) * sizeof *run->hx);
    if (!run->model || !run->inbound || !run->request_id || !run->hx) {
        gw_guard_run_free(run);
        return NULL;
    }
    for (size_t i = 0; i < chain->n; i++) {
        const struct gw_guard_entry *e = &chain->entries[i];
        struct gw_guard_hctx *h = &run->hx[i];
        h->run = run;
        h->idx = i;
        h->pub.abi_version = AIGW_ABI_VERSION;
        h->pub.struct_size = sizeof h->pub;
        h->pub.host = gw_guard_host();
        h->pub.instance = e->instance;
        h->pub.name = e->name;
        h->pub.op = run->op;
        h->pub.stream = run->stream;
        h->pub.model = run->model;
        h->pub.inbound = run->inbound;
        h->pub.request_id = run->request_id;
        /* An entry kept for the keys that name it sits this request out unless named. */
        h->skip = e->keys_only && !named(o ? o->named : NULL, e->name);
        if (e->mod->desc.state_size &&
            !(h->pub.state = gw_arena_alloc(&run->arena, e->mod->desc.state_size))) {
            gw_guard_run_free(run);
            return NULL;
        }
    }
    return run;
}

void gw_guard_run_free(struct gw_guard_run *run)
{
    if (!run)
        return;
    struct gw_guard_chain *c = (struct gw_guard_chain *)run->chain; /* counters are atomic */
    for (size_t i = 0; run->hx && i < c->n; i++)
        for (int s = 0; s < 2; s++)
            if (run->hx[i].outcome[s] != GW_GUARD_O_NONE)
                atomic_fetch_add(&c->entries[i].counts[s][run->hx[i].outcome[s]], 1);
    for (size_t i = 0; i < run->nstreams; i++)
        gw_guard_stream_free(c, &run->streams[i]);
    for (size_t i = 0; i < run->nchoices; i++)
        gw_buf_free(&run->choices[i].answer);
    gw_guard_tools_free(run);
    for (size_t i = 0; i < run->nqueue; i++)
        cJSON_Delete(run->queue[i].extra);
    free(run->queue);
    free(run->streams);
    free(run->choices);
    free(run->edits);
    free(run->fetched_body);
    gw_buf_free(&run->edit_bytes);
    gw_arena_free(&run->arena);
    free(run);
}

int gw_guard_run_outcome(const struct gw_guard_run *run, size_t i, unsigned stage)
{
    if (!run || i >= run->chain->n)
        return GW_GUARD_O_NONE;
    return run->hx[i].outcome[stage == AIGW_GUARD_INPUT ? 0 : 1];
}

void gw_guard_note(struct gw_guard_hctx *h, unsigned stage, int outcome)
{
    int s = stage == AIGW_GUARD_INPUT ? 0 : 1;
    if (outcome > h->outcome[s])
        h->outcome[s] = (unsigned char)outcome;
}

static const char *hook_name(int hook)
{
    switch (hook) {
    case GW_HOOK_REQUEST:
        return "on_request";
    case GW_HOOK_DELTA:
        return "on_answer_delta";
    case GW_HOOK_FINAL:
        return "on_answer_final";
    case GW_HOOK_ERROR:
        return "on_error";
    default:
        return "hook";
    }
}

static const char *code_name(int rc)
{
    switch (rc) {
    case AIGW_ENOMEM:
        return "out of memory";
    case AIGW_EINVAL:
        return "invalid input";
    case AIGW_EPROTO:
        return "protocol error";
    case AIGW_ENOTSUP:
        return "not supported";
    case AIGW_ECONFIG:
        return "configuration error";
    case AIGW_ETOOBIG:
        return "too large";
    default:
        return "internal error";
    }
}

int gw_guard_fail(struct gw_guard_run *run, size_t i, int hook, const char *why)
{
    struct gw_guard_hctx *h = &run->hx[i];
    const struct gw_guard_entry *e = &run->chain->entries[i];
    unsigned stage = hook == GW_HOOK_REQUEST ? AIGW_GUARD_INPUT : AIGW_GUARD_OUTPUT;
    run->nedits = 0;
    gw_logf(AIGW_LOG_WARN, "guard", run->request_id, "guardrail %s failed in %s: %s; %s", e->name,
            hook_name(hook), why, e->fail_open ? "skipped (fail_open)" : "request refused");
    if (e->fail_open) {
        h->skip = 1;
        gw_guard_note(h, stage, GW_GUARD_O_FAIL_OPEN);
        return GW_GUARD_ALLOW;
    }
    gw_guard_note(h, stage, GW_GUARD_O_FAIL_CLOSED);
    if (hook == GW_HOOK_ERROR)
        return GW_GUARD_FAILED;
    run->verdict = GW_GUARD_FAILED;
    run->verdict_idx = i;
    run->verdict_stage = stage;
    snprintf(run->reason, sizeof run->reason, "%s: %s", hook_name(hook), why);
    return GW_GUARD_FAILED;
}

static int settle(struct gw_guard_run *run, size_t i, int hook, int rc)
{
    struct gw_guard_hctx *h = &run->hx[i];
    unsigned stage = hook == GW_HOOK_REQUEST ? AIGW_GUARD_INPUT : AIGW_GUARD_OUTPUT;
    char why[64];
    int ok;
    if (rc < 0)
        return gw_guard_fail(run, i, hook, code_name(rc));
    switch (rc) {
    case AIGW_GUARD_ALLOW:
        ok = 1;
        break;
    case AIGW_GUARD_REWRITE:
        ok = hook != GW_HOOK_FINAL;
        break;
    case AIGW_GUARD_DENY:
        ok = hook != GW_HOOK_ERROR;
        break;
    case AIGW_GUARD_RETRY:
        ok = hook == GW_HOOK_FINAL && run->hook_retry;
        break;
    case AIGW_GUARD_PENDING:
        ok = run->hook_fetched;
        break;
    default:
        ok = 0;
    }
    if (hook == GW_HOOK_ERROR && rc != AIGW_GUARD_REWRITE)
        rc = AIGW_GUARD_ALLOW, ok = 1; /* other verdicts count as allow there */
    if (!ok) {
        snprintf(why, sizeof why, "verdict %d is not allowed here", rc);
        return gw_guard_fail(run, i, hook, why);
    }
    switch (rc) {
    case AIGW_GUARD_DENY:
        gw_guard_note(h, stage, GW_GUARD_O_DENY);
        run->nedits = 0;
        run->verdict = GW_GUARD_DENY;
        run->verdict_idx = i;
        run->verdict_stage = stage;
        snprintf(run->reason, sizeof run->reason, "%s",
                 run->hook_denied && run->hook_reason[0] ? run->hook_reason : "denied");
        return GW_GUARD_DENY;
    case AIGW_GUARD_RETRY:
        gw_guard_note(h, stage, GW_GUARD_O_RETRY);
        run->verdict = GW_GUARD_RETRY;
        run->verdict_idx = i;
        run->verdict_stage = stage;
        run->retry_note = gw_arena_strndup(&run->arena, run->hook_reason, strlen(run->hook_reason));
        if (!run->retry_note)
            return gw_guard_fail(run, i, hook, code_name(AIGW_ENOMEM));
        return GW_GUARD_RETRY;
    case AIGW_GUARD_PENDING:
        run->pending = 1;
        run->fetch_state = 1;
        run->pend_idx = i;
        run->pend_hook = hook;
        gw_logf(AIGW_LOG_DEBUG, "guard", run->request_id, "guardrail %s waits for a call",
                run->chain->entries[i].name);
        return GW_GUARD_PENDING;
    default:
        if (rc == AIGW_GUARD_REWRITE || run->nedits) {
            gw_guard_note(h, stage, GW_GUARD_O_REWRITE);
            if (hook == GW_HOOK_REQUEST)
                run->rewritten = 1;
        } else {
            gw_guard_note(h, stage, GW_GUARD_O_ALLOW);
        }
        return GW_GUARD_ALLOW;
    }
}

/* FNV-1a over everything under v: types, member names, strings and numbers' bits. A guard
 * that edited the request in place but said ALLOW changed it all the same: the hash is how
 * the host tells (and a request the guards changed is never forwarded as the client sent it). */
static uint64_t body_hash(const cJSON *v, uint64_t h, int depth)
{
    for (; v; v = v->next) {
        const char *s[2] = {v->string, cJSON_IsString(v) || cJSON_IsRaw(v) ? v->valuestring : NULL};
        unsigned char type = (unsigned char)(v->type & 0xff);
        h = (h ^ type) * 1099511628211u;
        for (int k = 0; k < 2; k++) {
            for (const unsigned char *p = (const unsigned char *)s[k]; p && *p; p++)
                h = (h ^ *p) * 1099511628211u;
            h = (h ^ 0xffu) * 1099511628211u;
        }
        if (cJSON_IsNumber(v)) {
            uint64_t bits;
            memcpy(&bits, &v->valuedouble, sizeof bits);
            for (int k = 0; k < 8; k++)
                h = (h ^ ((bits >> (8 * k)) & 0xffu)) * 1099511628211u;
        }
        h = (h ^ 0xfeu) * 1099511628211u; /* where a level ends: structure, not only bytes */
        if (depth < GW_GUARD_HASH_DEPTH)
            h = body_hash(v->child, h, depth + 1);
        else if (v->child)
            h = (h ^ (uint64_t)(uintptr_t)v->child) * 1099511628211u; /* too deep: the node */
    }
    return h;
}

#define HASH_SEED 14695981039346656037u

/* An on_request that returned ALLOW after editing the body in place: a rewrite all the same
 * (the ABI asks for REWRITE; an edit must never be lost to the verdict word). */
static int request_verdict(struct gw_guard_run *run, size_t i, const cJSON *body, int rc)
{
    if (rc != AIGW_GUARD_ALLOW && rc != AIGW_GUARD_REWRITE)
        return rc;
    uint64_t h = body_hash(body, HASH_SEED, 0);
    if (rc == AIGW_GUARD_ALLOW && h != run->req_hash) {
        gw_logf(AIGW_LOG_DEBUG, "guard", run->request_id,
                "guardrail %s edited the request and said allow: taken as a rewrite",
                run->chain->entries[i].name);
        rc = AIGW_GUARD_REWRITE;
    }
    run->req_hash = h;
    return rc;
}

int gw_guard_call(struct gw_guard_run *run, size_t i, int hook, void *a, void *b)
{
    struct gw_guard_hctx *h = &run->hx[i];
    const struct aigw_guard *d = &run->chain->entries[i].mod->desc;
    int answered = run->pending && run->fetch_state == 2 && run->pend_idx == i;
    h->pub.stage = hook == GW_HOOK_REQUEST ? AIGW_GUARD_INPUT : AIGW_GUARD_OUTPUT;
    h->pub.attempt = run->attempt;
    h->pub.fetched = answered ? &run->fetched : NULL;
    run->hook = hook;
    run->cur = h;
    run->nedits = 0;
    run->hook_reason[0] = '\0';
    run->hook_denied = run->hook_retry = run->hook_fetched = 0;
    gw_buf_reset(&run->edit_bytes);
    int rc;
    switch (hook) {
    case GW_HOOK_REQUEST:
        run->text_len = 0;
        if (!run->req_hashed) /* the body as the chain got it */
            run->req_hash = body_hash(a, HASH_SEED, 0), run->req_hashed = 1;
        rc = request_verdict(run, i, a, d->on_request(&h->pub, (cJSON *)a));
        break;
    case GW_HOOK_DELTA:
        run->text_ptr = ((struct aigw_guard_text *)a)->text.ptr;
        run->text_len = ((struct aigw_guard_text *)a)->text.len;
        rc = d->on_answer_delta(&h->pub, (struct aigw_guard_text *)a);
        break;
    case GW_HOOK_FINAL:
        run->text_len = 0;
        rc = d->on_answer_final(&h->pub, (const struct aigw_guard_answer *)a);
        break;
    default:
        run->text_ptr = ((struct aigw_guard_text *)b)->text.ptr;
        run->text_len = ((struct aigw_guard_text *)b)->text.len;
        rc = d->on_error(&h->pub, (const struct aigw_error *)a, (struct aigw_guard_text *)b);
        break;
    }
    run->hook = GW_HOOK_NONE;
    run->cur = NULL;
    h->pub.fetched = NULL;
    if (answered) { /* the response was the hook's to read, once */
        run->pending = 0;
        run->fetch_state = 0;
        free(run->fetched_body);
        run->fetched_body = NULL;
    }
    return settle(run, i, hook, rc);
}

static int cmp_edits(const void *x, const void *y)
{
    const struct gw_guard_edit *a = x, *b = y;
    return a->off < b->off ? -1 : a->off > b->off;
}

int gw_guard_apply_edits(struct gw_guard_run *run, struct gw_buf *buf, size_t *pos, size_t npos)
{
    struct gw_guard_edit *e = run->edits;
    size_t n = run->nedits, at = 0;
    struct gw_buf out;
    int rc = 0;
    if (!n)
        return 0;
    qsort(e, n, sizeof *e, cmp_edits); /* replace() refused overlaps */
    gw_buf_init(&out, buf->cap);
    for (size_t k = 0; k < npos; k++) {
        size_t p = pos[k], np = p;
        for (size_t j = 0; j < n; j++) {
            if (e[j].off + e[j].len <= p && !(e[j].len == 0 && e[j].off == p))
                np = np - e[j].len + e[j].with_len;
            else if (e[j].off < p)
                np = np - (p - e[j].off); /* inside an edit: to its start */
        }
        pos[k] = np;
    }
    for (size_t j = 0; !rc && j < n; j++) {
        rc = gw_buf_append(&out, buf->ptr + at, e[j].off - at);
        if (!rc && e[j].with_len)
            rc = gw_buf_append(&out, run->edit_bytes.ptr + e[j].with_off, e[j].with_len);
        at = e[j].off + e[j].len;
    }
    if (!rc)
        rc = gw_buf_append(&out, buf->ptr ? buf->ptr + at : "", buf->len - at);
    run->nedits = 0;
    if (rc) {
        gw_buf_free(&out);
        return rc;
    }
    gw_buf_free(buf);
    *buf = out;
    return 0;
}

/* ---- the request stage ---------------------------------------------------------------------- */

int gw_guard_fetch_failure(struct gw_guard_run *run, int hook)
{
    size_t i = run->pend_idx;
    char why[160];
    snprintf(why, sizeof why, "its service call failed (%s)", run->fetch_why);
    run->pending = 0;
    run->fetch_state = 0;
    return gw_guard_fail(run, i, hook, why);
}

/* Embeddings input given as token ids (an array of integers, or arrays of them among its
 * items): no text guard can read them, and what it cannot read it must not pass unseen. */
static int token_input(const cJSON *body)
{
    const cJSON *it, *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    if (!cJSON_IsArray(input))
        return 0;
    cJSON_ArrayForEach(it, input)
    {
        if (cJSON_IsNumber(it) || cJSON_IsArray(it))
            return 1;
    }
    return 0;
}

/* Entry i cannot inspect the request: a failure of the guard (fail_open skips it), answered as
 * the client's doing (400 guardrail_uninspectable), not the guard's (503). */
static int uninspectable(struct gw_guard_run *run, size_t i)
{
    int v = gw_guard_fail(run, i, GW_HOOK_REQUEST, "the input is token ids, which it cannot read");
    if (v == GW_GUARD_FAILED)
        run->uninspectable = 1;
    return v;
}

int gw_guard_on_request(struct gw_guard_run *run, cJSON *body)
{
    const struct gw_guard_chain *c = run->chain;
    if (run->verdict == GW_GUARD_DENY || run->verdict == GW_GUARD_FAILED)
        return run->verdict;
    if (run->req_done)
        return GW_GUARD_ALLOW;
    if (run->pending && run->fetch_state == 1)
        return GW_GUARD_PENDING; /* nothing answered yet */
    if (run->pending && run->fetch_state == 3) {
        int v = gw_guard_fetch_failure(run, GW_HOOK_REQUEST);
        if (v != GW_GUARD_ALLOW)
            return v;
        run->req_next++;
    }
    int tokens = run->op == AIGW_OP_EMBEDDINGS && token_input(body);
    for (size_t i = run->req_next; i < c->n; i++) {
        run->req_next = i;
        if (!(c->entries[i].stages & AIGW_GUARD_INPUT) || run->hx[i].skip)
            continue;
        int v = tokens ? uninspectable(run, i) : gw_guard_call(run, i, GW_HOOK_REQUEST, body, NULL);
        if (v != GW_GUARD_ALLOW)
            return v;
    }
    run->req_next = c->n;
    run->req_done = 1;
    return GW_GUARD_ALLOW;
}

int gw_guard_rewrote(const struct gw_guard_run *run)
{
    return run && run->rewritten;
}

/* ---- service calls -------------------------------------------------------------------------- */

const struct gw_guard_fetch_req *gw_guard_fetch_request(const struct gw_guard_run *run)
{
    return run && run->pending && run->fetch_state == 1 ? &run->freq : NULL;
}

int gw_guard_fetch_done(struct gw_guard_run *run, int status, const char *body, size_t len,
                        int64_t elapsed_ms)
{
    if (!run->pending || run->fetch_state != 1)
        return AIGW_EINVAL;
    if (len > GW_GUARD_FETCH_BODY_CAP)
        len = GW_GUARD_FETCH_BODY_CAP;
    free(run->fetched_body);
    run->fetched_body = malloc(len + 1);
    if (!run->fetched_body) {
        gw_guard_fetch_failed(run, "out of memory");
        return AIGW_ENOMEM;
    }
    if (len)
        memcpy(run->fetched_body, body, len);
    run->fetched_body[len] = '\0';
    run->fetched = (struct aigw_guard_fetched){
        AIGW_ABI_VERSION, sizeof run->fetched, status, {run->fetched_body, len}, elapsed_ms};
    run->fetch_state = 2;
    return 0;
}

void gw_guard_fetch_failed(struct gw_guard_run *run, const char *why)
{
    if (!run->pending || run->fetch_state != 1)
        return;
    snprintf(run->fetch_why, sizeof run->fetch_why, "%s", why ? why : "failed");
    run->fetch_state = 3;
}

/* ---- verdicts --------------------------------------------------------------------------- */

int gw_guard_error(struct gw_guard_run *run, struct aigw_error *err)
{
    char msg[600], safe[600];
    if (run->verdict != GW_GUARD_DENY && run->verdict != GW_GUARD_FAILED)
        return AIGW_EINVAL;
    const char *name = run->chain->entries[run->verdict_idx].name;
    aigw_error_init(err);
    if (run->verdict == GW_GUARD_DENY) {
        snprintf(msg, sizeof msg, "%s blocked by guardrail '%s': %s",
                 run->verdict_stage == AIGW_GUARD_INPUT ? "request" : "answer", name, run->reason);
        err->status = 400;
        err->type = "invalid_request_error";
        err->code = "guardrail_blocked";
    } else if (run->uninspectable) {
        snprintf(msg, sizeof msg,
                 "guardrail '%s' cannot inspect embeddings input given as token ids; send the "
                 "input as text",
                 name);
        err->status = 400;
        err->type = "invalid_request_error";
        err->code = "guardrail_uninspectable";
        err->param = "input";
    } else {
        snprintf(msg, sizeof msg, "guardrail '%s' failed (%s); the request was refused", name,
                 run->reason);
        err->status = 503;
        err->type = "api_error";
        err->code = "guardrail_failed";
    }
    size_t n = gw_redact(msg, strlen(msg), safe, sizeof safe);
    err->message = gw_arena_strndup(&run->arena, safe, n);
    return err->message ? 0 : AIGW_ENOMEM;
}

const char *gw_guard_blocked_by(const struct gw_guard_run *run)
{
    if (!run || (run->verdict != GW_GUARD_DENY && run->verdict != GW_GUARD_FAILED))
        return NULL;
    return run->chain->entries[run->verdict_idx].name;
}

int gw_guard_summary(const struct gw_guard_run *run, struct gw_buf *out)
{
    int rc = gw_buf_append(out, "[", 1), first = 1;
    for (size_t i = 0; !rc && run && i < run->chain->n; i++) {
        for (int s = 0; !rc && s < 2; s++) {
            int o = run->hx[i].outcome[s];
            if (o == GW_GUARD_O_NONE)
                continue;
            rc = gw_buf_append_strs(out, first ? "" : ",", "{\"guard\":\"",
                                    run->chain->entries[i].name, "\",\"stage\":\"",
                                    s ? "output" : "input", "\",\"outcome\":\"",
                                    gw_guard_outcome_name(o), "\"}", NULL);
            first = 0;
        }
    }
    return rc ? rc : gw_buf_append(out, "]", 1);
}
