/* tools - an answer's tool calls through the output guards' delta hooks (see guard.h). A
 * model can say in a call's arguments what it may not say in text (a card number, a key), so
 * a call is held whole, its pieces as they stream, until its choice moves on (text, its finish,
 * a block's end, an error, the end of the answer); then each guard, in chain order, reads every
 * string value (decoded: escapes such as \u0040 spell what a scan of the raw JSON would miss),
 * member name and number of the arguments, each as one whole text (kind AIGW_CHUNK_TOOL_CALL,
 * final). A deny stops the answer as it does for text; an edit is applied to the decoded value
 * and the arguments are printed again, so they stay JSON. Arguments that are not JSON (a model
 * that wrote something else) are read as one text and edited as such. The call then goes on as
 * one chunk. Held arguments are capped per run: past the cap a guard cannot judge them, which
 * is a failure of that guard (fail_open lets them through unjudged). */
#include "guard/guard_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_NAME_CAP 4096 /* id and name of a call */
#define TOOL_DEPTH 64      /* levels of arguments read (deeper ones are judged as raw text) */

/* Whether an output guard with a delta hook still runs (not skipped after failing open). */
static int active(const struct gw_guard_run *run)
{
    const struct gw_guard_chain *c = run->chain;
    for (size_t i = 0; i < c->n; i++)
        if ((c->entries[i].stages & AIGW_GUARD_OUTPUT) && c->entries[i].mod->desc.on_answer_delta &&
            !run->hx[i].skip)
            return 1;
    return 0;
}

static void tool_free(struct gw_guard_tool *t)
{
    gw_buf_free(&t->id);
    gw_buf_free(&t->name);
    gw_buf_free(&t->args);
}

void gw_guard_tools_free(struct gw_guard_run *run)
{
    for (size_t i = 0; i < run->ntools; i++)
        tool_free(&run->tools[i]);
    free(run->tools);
    run->tools = NULL;
    run->ntools = 0;
    run->tool_bytes = 0;
}

static struct gw_guard_tool *tool_of(struct gw_guard_run *run, int choice, int index)
{
    for (size_t i = 0; i < run->ntools; i++)
        if (run->tools[i].choice == choice && run->tools[i].index == index)
            return &run->tools[i];
    if (run->ntools >= GW_GUARD_STREAMS_MAX)
        return NULL;
    struct gw_guard_tool *t = realloc(run->tools, (run->ntools + 1) * sizeof *t);
    if (!t)
        return NULL;
    run->tools = t;
    t = &run->tools[run->ntools++];
    memset(t, 0, sizeof *t);
    t->choice = choice;
    t->index = index;
    gw_buf_init(&t->id, TOOL_NAME_CAP);
    gw_buf_init(&t->name, TOOL_NAME_CAP);
    gw_buf_init(&t->args, GW_GUARD_ANSWER_CAP);
    return t;
}

/* ---- judging one text ----------------------------------------------------------------------- */

/* Entry i's delta hook over s[0, n) as a whole text; *out (malloc, NUL-ended: the caller frees
 * it) receives the text it edited to, or stays NULL. ALLOW, or the verdict that stops the
 * answer. */
static int judge_text(struct gw_guard_run *run, size_t i, int choice, const char *s, size_t n,
                      char **out)
{
    struct aigw_guard_text t = {
        AIGW_ABI_VERSION, sizeof t, choice, AIGW_CHUNK_TOOL_CALL, {"", 0}, {s, n}, n, 0, 1, n};
    struct gw_buf b;
    *out = NULL;
    int v = gw_guard_call(run, i, GW_HOOK_DELTA, &t, NULL);
    if (v != GW_GUARD_ALLOW || !run->nedits)
        return v; /* (a guard that failed open left no edits) */
    gw_buf_init(&b, GW_GUARD_PENDING_CAP);
    int rc = gw_buf_append(&b, s, n);
    if (!rc)
        rc = gw_guard_apply_edits(run, &b, NULL, 0);
    if (!rc && !(*out = strndup(b.ptr ? b.ptr : "", b.len)))
        rc = AIGW_ENOMEM;
    gw_buf_free(&b);
    return rc;
}

/* A copy cJSON frees as its own. */
static char *cj_strdup(const char *s)
{
    size_t n = strlen(s);
    char *p = cJSON_malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* A number as JSON writes it (cJSON's way: the shortest of 15 or 17 digits that reads back). */
static void number_text(double d, char *buf, size_t size)
{
    snprintf(buf, size, "%1.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, size, "%1.17g", d);
}

/* Entry i over every member name, string and number under v; edits change the tree in place
 * (a number a guard edited becomes a string). *changed is set when one did. */
static int judge_tree(struct gw_guard_run *run, size_t i, int choice, cJSON *v, int depth,
                      int *changed)
{
    char num[64], *out;
    int rc;
    for (; v; v = v->next) {
        if (run->hx[i].skip)
            return GW_GUARD_ALLOW; /* failed open on an earlier value */
        if (v->string && (rc = judge_text(run, i, choice, v->string, strlen(v->string), &out)))
            return rc;
        if (v->string && out) {
            char *k = cj_strdup(out);
            free(out);
            if (!k)
                return AIGW_ENOMEM;
            if (!(v->type & cJSON_StringIsConst))
                cJSON_free(v->string);
            v->string = k;
            v->type &= ~cJSON_StringIsConst;
            *changed = 1;
        }
        if (cJSON_IsString(v) && v->valuestring) {
            if ((rc = judge_text(run, i, choice, v->valuestring, strlen(v->valuestring), &out)))
                return rc;
            char *set = out ? cJSON_SetValuestring(v, out) : NULL;
            free(out);
            if (out && !set)
                return AIGW_ENOMEM;
            *changed |= out != NULL;
        } else if (cJSON_IsNumber(v)) {
            number_text(v->valuedouble, num, sizeof num);
            if ((rc = judge_text(run, i, choice, num, strlen(num), &out)))
                return rc;
            if (!out)
                continue;
            v->valuestring = cj_strdup(out);
            free(out);
            if (!v->valuestring)
                return AIGW_ENOMEM;
            /* what replaced digits is text: the value becomes a string */
            v->type = cJSON_String | (v->type & cJSON_StringIsConst);
            *changed = 1;
        } else if (v->child && depth < TOOL_DEPTH &&
                   (rc = judge_tree(run, i, choice, v->child, depth + 1, changed))) {
            return rc;
        }
    }
    return GW_GUARD_ALLOW;
}

static int too_deep(const cJSON *v, int depth)
{
    for (; v; v = v->next)
        if (v->child && (depth >= TOOL_DEPTH || too_deep(v->child, depth + 1)))
            return 1;
    return 0;
}

/* A NUL written as an escape ends a decoded string early: what follows it would go unread. */
static int has_nul_escape(const char *s, size_t n)
{
    for (size_t k = 0; k + 6 <= n; k++)
        if (s[k] == '\\' && s[k + 1] == 'u' && !memcmp(s + k + 2, "0000", 4))
            return 1;
    return 0;
}

/* The output guards over call t's arguments, replacing them when one edited them. */
static int judge_call(struct gw_guard_run *run, struct gw_guard_tool *t)
{
    const struct gw_guard_chain *c = run->chain;
    const char *s = t->args.ptr ? t->args.ptr : "";
    cJSON *doc = has_nul_escape(s, t->args.len) ? NULL : cJSON_ParseWithLength(s, t->args.len);
    int changed = 0, rc = 0;
    char *out = NULL;
    if (doc && too_deep(doc, 0)) {
        cJSON_Delete(doc);
        doc = NULL;
    }
    for (size_t i = 0; !rc && i < c->n; i++) {
        const struct gw_guard_entry *e = &c->entries[i];
        if (!(e->stages & AIGW_GUARD_OUTPUT) || !e->mod->desc.on_answer_delta || run->hx[i].skip)
            continue;
        if (doc) {
            rc = judge_tree(run, i, t->choice, doc, 0, &changed);
            continue;
        }
        rc = judge_text(run, i, t->choice, t->args.ptr ? t->args.ptr : "", t->args.len, &out);
        if (!rc && out) { /* not JSON: edited as the text it is */
            gw_buf_reset(&t->args);
            rc = gw_buf_append(&t->args, out, strlen(out));
        }
        free(out);
        out = NULL;
    }
    if (!rc && doc && changed) {
        char *p = cJSON_PrintUnformatted(doc);
        gw_buf_reset(&t->args);
        rc = p ? gw_buf_append(&t->args, p, strlen(p)) : AIGW_ENOMEM;
        cJSON_free(p);
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- holding and letting go ----------------------------------------------------------------- */

static int emit_call(const struct gw_guard_tool *t, gw_guard_emit_fn emit, void *ud)
{
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, t->choice);
    ch.tool_index = t->index;
    if (t->id.len)
        ch.id = (struct aigw_bytes){t->id.ptr, t->id.len};
    if (t->name.len)
        ch.name = (struct aigw_bytes){t->name.ptr, t->name.len};
    ch.text = (struct aigw_bytes){t->args.ptr ? t->args.ptr : "", t->args.len};
    return emit(ud, &ch);
}

int gw_guard_tool_flush(struct gw_guard_run *run, int choice, gw_guard_emit_fn emit, void *ud)
{
    size_t k = 0, kept = 0;
    int v = GW_GUARD_ALLOW;
    for (; k < run->ntools; k++) {
        struct gw_guard_tool *t = &run->tools[k];
        if (v != GW_GUARD_ALLOW || (choice >= 0 && t->choice != choice)) {
            run->tools[kept++] = *t; /* order kept */
            continue;
        }
        v = active(run) ? judge_call(run, t) : GW_GUARD_ALLOW;
        if (v == GW_GUARD_ALLOW)
            v = emit_call(t, emit, ud);
        run->tool_bytes -= run->tool_bytes < t->args.len ? run->tool_bytes : t->args.len;
        tool_free(t);
    }
    run->ntools = kept;
    return v;
}

/* More held than the cap: no guard can judge it whole. Each still running fails (fail_open
 * skips it); once none runs, what was held goes on unjudged. */
static int overflow(struct gw_guard_run *run)
{
    const struct gw_guard_chain *c = run->chain;
    for (size_t i = 0; i < c->n; i++) {
        if (!(c->entries[i].stages & AIGW_GUARD_OUTPUT) ||
            !c->entries[i].mod->desc.on_answer_delta || run->hx[i].skip)
            continue;
        int v = gw_guard_fail(run, i, GW_HOOK_DELTA, "a tool call is too large to judge");
        if (v != GW_GUARD_ALLOW)
            return v;
    }
    return GW_GUARD_ALLOW;
}

int gw_guard_tool_hold(struct gw_guard_run *run, const struct aigw_chunk *c, gw_guard_emit_fn emit,
                       void *ud)
{
    int v;
    if (active(run) && run->tool_bytes + c->text.len > GW_GUARD_ANSWER_CAP &&
        (v = overflow(run)) != GW_GUARD_ALLOW)
        return v;
    if (!active(run)) { /* nothing left to judge it: what was held goes first */
        if ((v = gw_guard_tool_flush(run, -1, emit, ud)) != GW_GUARD_ALLOW)
            return v;
        return emit(ud, c);
    }
    struct gw_guard_tool *t = tool_of(run, c->choice, c->tool_index);
    if (!t)
        return AIGW_ETOOBIG;
    int rc = 0;
    if (!t->id.len && c->id.len)
        rc = gw_buf_append(&t->id, c->id.ptr, c->id.len);
    if (!rc && !t->name.len && c->name.len)
        rc = gw_buf_append(&t->name, c->name.ptr, c->name.len);
    if (!rc && c->text.len)
        rc = gw_buf_append(&t->args, c->text.ptr, c->text.len);
    if (rc)
        return rc;
    run->tool_bytes += c->text.len;
    return GW_GUARD_ALLOW;
}
