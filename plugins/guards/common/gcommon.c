/* gcommon - request texts, strings and the scanning driver of the built-in guards (see
 * gcommon.h). */
#include "gcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gg_str_add(struct gg_str *s, const char *p, size_t n)
{
    if (s->oom)
        return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *q = realloc(s->p, cap);
        if (!q) {
            s->oom = 1;
            return;
        }
        s->p = q;
        s->cap = cap;
    }
    if (n)
        memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

void gg_str_free(struct gg_str *s)
{
    free(s->p);
    s->p = NULL;
    s->len = s->cap = 0;
}

size_t gg_utf8_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* ---- the texts of a request ----------------------------------------------------------------- */

static int visit_content(cJSON *content, const char *where, gg_text_fn fn, void *ud)
{
    char path[160];
    int i = 0, rc;
    cJSON *part;
    if (cJSON_IsString(content))
        return fn(ud, content, where);
    cJSON_ArrayForEach(part, content)
    {
        /* a refusal part (an assistant turn played back) is text the model reads as well */
        cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const char *k =
            cJSON_IsString(type) && !strcmp(type->valuestring, "refusal") ? "refusal" : "text";
        cJSON *text = cJSON_GetObjectItemCaseSensitive(part, k);
        snprintf(path, sizeof path, "%.100s[%d].%s", where, i++, k);
        if (cJSON_IsString(text) && (rc = fn(ud, text, path)))
            return rc;
    }
    return 0;
}

/* The "description" strings of a JSON Schema (its properties', items', ...), at most
 * SCHEMA_DEPTH levels down: the model reads them as it reads the tool's own description. */
#define SCHEMA_DEPTH 32

static int visit_schema(cJSON *schema, const char *where, int depth, gg_text_fn fn, void *ud)
{
    int rc;
    cJSON *it;
    if (depth > SCHEMA_DEPTH || !(cJSON_IsObject(schema) || cJSON_IsArray(schema)))
        return 0;
    cJSON_ArrayForEach(it, schema)
    {
        if (cJSON_IsObject(schema) && it->string && !strcmp(it->string, "description") &&
            cJSON_IsString(it)) {
            if ((rc = fn(ud, it, where)))
                return rc;
        } else if ((rc = visit_schema(it, where, depth + 1, fn, ud))) {
            return rc;
        }
    }
    return 0;
}

/* What the model is told of each tool: its description and its parameters' descriptions
 * (a tool description is a way into the prompt, as a message is). key: "tools" (each a
 * {"function": {...}}) or "functions" (the older API's list of the functions themselves). */
static int visit_tools(cJSON *req, const char *key, gg_text_fn fn, void *ud)
{
    char path[160];
    int i = 0, rc, wrapped = !strcmp(key, "tools");
    cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(req, key))
    {
        cJSON *fnc = wrapped ? cJSON_GetObjectItemCaseSensitive(t, "function") : t;
        cJSON *desc = cJSON_GetObjectItemCaseSensitive(fnc, "description");
        snprintf(path, sizeof path, "%s[%d]%s.description", key, i, wrapped ? ".function" : "");
        if (cJSON_IsString(desc) && (rc = fn(ud, desc, path)))
            return rc;
        snprintf(path, sizeof path, "%s[%d]%s.parameters", key, i++, wrapped ? ".function" : "");
        if ((rc = visit_schema(cJSON_GetObjectItemCaseSensitive(fnc, "parameters"), path, 0, fn,
                               ud)))
            return rc;
    }
    return 0;
}

/* A structured output's schema is put before the model as a tool's is: its descriptions. */
static int visit_response_format(cJSON *req, gg_text_fn fn, void *ud)
{
    cJSON *js = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(req, "response_format"), "json_schema");
    cJSON *desc = cJSON_GetObjectItemCaseSensitive(js, "description");
    int rc;
    if (cJSON_IsString(desc) && (rc = fn(ud, desc, "response_format.json_schema.description")))
        return rc;
    return visit_schema(cJSON_GetObjectItemCaseSensitive(js, "schema"),
                        "response_format.json_schema.schema", 0, fn, ud);
}

/* One message's texts besides its content: a refusal played back, the calls it made (the
 * tool calls' arguments, and the older API's single function_call). */
static int visit_message_extra(cJSON *msg, int i, gg_text_fn fn, void *ud)
{
    char path[160];
    int k = 0, rc;
    cJSON *it, *refusal = cJSON_GetObjectItemCaseSensitive(msg, "refusal");
    snprintf(path, sizeof path, "messages[%d].refusal", i);
    if (cJSON_IsString(refusal) && (rc = fn(ud, refusal, path)))
        return rc;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(msg, "tool_calls"))
    {
        cJSON *fnc = cJSON_GetObjectItemCaseSensitive(it, "function");
        cJSON *args = cJSON_GetObjectItemCaseSensitive(fnc, "arguments");
        snprintf(path, sizeof path, "messages[%d].tool_calls[%d].function.arguments", i, k++);
        if (cJSON_IsString(args) && (rc = fn(ud, args, path)))
            return rc;
    }
    cJSON *args = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(msg, "function_call"), "arguments");
    snprintf(path, sizeof path, "messages[%d].function_call.arguments", i);
    if (cJSON_IsString(args) && (rc = fn(ud, args, path)))
        return rc;
    return 0;
}

int gg_request_texts(cJSON *req, gg_text_fn fn, void *ud)
{
    char path[160];
    int i = 0, rc;
    cJSON *msg, *it;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(req, "messages"))
    {
        snprintf(path, sizeof path, "messages[%d].content", i);
        if ((rc = visit_content(cJSON_GetObjectItemCaseSensitive(msg, "content"), path, fn, ud)) ||
            (rc = visit_message_extra(msg, i, fn, ud)))
            return rc;
        i++;
    }
    if ((rc = visit_tools(req, "tools", fn, ud)) || (rc = visit_tools(req, "functions", fn, ud)) ||
        (rc = visit_response_format(req, fn, ud)))
        return rc;
    /* Predicted output is sent to the provider with the prompt. */
    if ((rc = visit_content(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(req, "prediction"), "content"),
                            "prediction.content", fn, ud)))
        return rc;
    cJSON *input = cJSON_GetObjectItemCaseSensitive(req, "input");
    if (cJSON_IsString(input) && (rc = fn(ud, input, "input")))
        return rc;
    i = 0;
    if (cJSON_IsArray(input)) {
        cJSON_ArrayForEach(it, input)
        {
            snprintf(path, sizeof path, "input[%d]", i++);
            if (cJSON_IsString(it) && (rc = fn(ud, it, path)))
                return rc;
        }
    }
    cJSON *prompt = cJSON_GetObjectItemCaseSensitive(req, "prompt");
    if (cJSON_IsString(prompt) && (rc = fn(ud, prompt, "prompt")))
        return rc;
    return 0;
}

/* ---- the driver ----------------------------------------------------------------------------- */

/* One text scanned whole (final): redactions go into out when not NULL. Returns the number of
 * matches, or negative; *what receives the first match's kind. */
static int scan_whole(const struct gg_matcher *mm, const char *s, size_t n, struct gg_str *out,
                      const char **what)
{
    void *scratch = NULL;
    size_t pos = 0, copied = 0;
    int found = 0, r = 0;
    while (pos <= n) {
        struct gg_match m;
        memset(&m, 0, sizeof m);
        r = mm->find(mm->inst, s, n, pos, 1, &m, &scratch);
        if (r <= 0)
            break;
        if (m.start < pos)
            m.start = pos;
        if (m.end > n)
            m.end = n;
        if (m.end < m.start)
            m.end = m.start;
        if (!found++ && what)
            *what = m.what;
        if (!out)
            break;
        gg_str_add(out, s + copied, m.start - copied);
        gg_str_add(out, m.replacement, strlen(m.replacement));
        copied = m.end;
        pos = m.end > m.start ? m.end : m.start + 1;
    }
    if (out && found)
        gg_str_add(out, s + copied, n - copied);
    if (mm->scratch_free && scratch)
        mm->scratch_free(scratch);
    if (r < 0)
        return r;
    return out && out->oom ? AIGW_ENOMEM : found;
}

struct req_scan {
    struct aigw_guard_ctx *g;
    const struct gg_matcher *mm;
    int rewrote;
};

/* One string scanned: a deny, or its redaction in place (*changed set). */
static int scan_string(struct req_scan *rs, cJSON *item, const char *where, int *changed)
{
    struct gg_str out = {0};
    const char *what = "a match";
    const char *s = item->valuestring;
    int n = scan_whole(rs->mm, s, strlen(s), rs->mm->redact ? &out : NULL, &what);
    if (n > 0 && !rs->mm->redact)
        n = rs->g->host->deny(rs->g, "%s in %s", what, where);
    else if (n > 0 && !cJSON_SetValuestring(item, out.p ? out.p : ""))
        n = AIGW_ENOMEM;
    else if (n > 0)
        *changed = 1, n = 0;
    gg_str_free(&out);
    return n;
}

#define JSON_TEXT_DEPTH 64

/* Every string value under v, decoded (a JSON text's, parsed). */
static int scan_values(struct req_scan *rs, cJSON *v, const char *where, int depth, int *changed)
{
    int rc;
    if (cJSON_IsString(v))
        return scan_string(rs, v, where, changed);
    if (depth > JSON_TEXT_DEPTH)
        return 0;
    for (cJSON *c = v ? v->child : NULL; c; c = c->next)
        if ((rc = scan_values(rs, c, where, depth + 1, changed)))
            return rc;
    return 0;
}

/* A tool call's arguments are JSON text, and its escapes hide what they spell from a scan of
 * the raw string: "\u00df" as Python's json.dumps writes every non-ASCII character, a "\n"
 * between two words, or a "\u0040" on purpose. The model reads them decoded, and a target that
 * takes arguments as an object (Anthropic, Gemini) is sent them decoded. So with an escape in it,
 * the text's string values are scanned decoded as well; a redaction prints the JSON again. */
static int scan_json_text(struct req_scan *rs, cJSON *item, const char *where)
{
    size_t wl = strlen(where), al = strlen(".arguments");
    if (wl < al || strcmp(where + wl - al, ".arguments") || !strchr(item->valuestring, '\\'))
        return 0;
    cJSON *doc = cJSON_Parse(item->valuestring);
    int changed = 0, rc = doc ? scan_values(rs, doc, where, 0, &changed) : 0;
    char *printed = !rc && changed ? cJSON_PrintUnformatted(doc) : NULL;
    if (!rc && changed && (!printed || !cJSON_SetValuestring(item, printed)))
        rc = AIGW_ENOMEM;
    else if (!rc && changed)
        rs->rewrote = 1;
    free(printed);
    cJSON_Delete(doc);
    return rc;
}

static int scan_item(void *ud, cJSON *item, const char *where)
{
    struct req_scan *rs = ud;
    int rc = scan_string(rs, item, where, &rs->rewrote);
    return rc ? rc : scan_json_text(rs, item, where);
}

int gg_scan_request(struct aigw_guard_ctx *g, cJSON *req, const struct gg_matcher *mm)
{
    struct req_scan rs = {g, mm, 0};
    int rc = gg_request_texts(req, scan_item, &rs);
    if (rc)
        return rc; /* AIGW_GUARD_DENY or a negative code */
    return rs.rewrote ? AIGW_GUARD_REWRITE : AIGW_GUARD_ALLOW;
}

static int scan_text(struct aigw_guard_ctx *g, struct aigw_guard_text *t,
                     const struct gg_matcher *mm, int final, int redact)
{
    size_t base = t->before.len, n = base + t->text.len, hold = n, pos = base;
    char *s = malloc(n + 1);
    void *scratch = NULL;
    int rc = 0, verdict = AIGW_GUARD_ALLOW;
    if (!s)
        return AIGW_ENOMEM;
    if (base)
        memcpy(s, t->before.ptr, base);
    if (t->text.len)
        memcpy(s + base, t->text.ptr, t->text.len);
    s[n] = '\0';
    if (!final && mm->tail) {
        size_t th = mm->tail(mm->inst, s, n, base, &scratch);
        hold = th < base ? base : th < n ? th : n;
    }
    while (pos <= n) {
        struct gg_match m;
        memset(&m, 0, sizeof m);
        int r = mm->find(mm->inst, s, n, pos, final, &m, &scratch);
        if (r <= 0) {
            rc = r;
            break;
        }
        if (m.start < pos)
            m.start = pos;
        if (m.end > n)
            m.end = n;
        if (m.end < m.start)
            m.end = m.start;
        if (!final && (m.partial || m.start >= hold)) {
            if (m.start < hold)
                hold = m.start;
            break;
        }
        if (!redact) {
            verdict = g->host->deny(g, "%s in the answer", m.what);
            break;
        }
        rc = g->host->replace(g, m.start - base, m.end - m.start, m.replacement,
                              strlen(m.replacement));
        if (rc < 0)
            break;
        verdict = AIGW_GUARD_REWRITE;
        pos = m.end > m.start ? m.end : m.start + 1;
    }
    t->hold = hold - base;
    if (mm->scratch_free && scratch)
        mm->scratch_free(scratch);
    free(s);
    return rc < 0 ? rc : verdict;
}

int gg_scan_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t, const struct gg_matcher *mm)
{
    return scan_text(g, t, mm, t->final, mm->redact);
}

int gg_scan_error(struct aigw_guard_ctx *g, struct aigw_guard_text *t, const struct gg_matcher *mm)
{
    return scan_text(g, t, mm, 1, 1);
}

/* ---- config helpers ------------------------------------------------------------------------- */

const char *gg_cfg_str(const cJSON *cfg, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

int gg_cfg_bool(const cJSON *cfg, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

double gg_cfg_num(const cJSON *cfg, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

unsigned gg_cfg_stages(const cJSON *cfg, const char *key)
{
    const char *v = gg_cfg_str(cfg, key, "both");
    if (!strcmp(v, "input"))
        return AIGW_GUARD_INPUT;
    if (!strcmp(v, "output"))
        return AIGW_GUARD_OUTPUT;
    return AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT;
}
