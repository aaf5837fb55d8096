/* strategy_rules - conditional and content-based rules, ab-test variants (see strategy.h). */
#include "route/strategy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

#define RULE_STR_MAX 1024

static int fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return AIGW_EINVAL;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static int nonempty_str(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < RULE_STR_MAX;
}

/* A string, or a non-empty array of strings (any of them). */
static int parse_strlist(struct gw_strlist *l, const cJSON *v, const char *path, const char *key,
                         char *err, size_t errsize)
{
    const char *what = "expected a non-empty string or an array of them";
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    if (!(nonempty_str(v) || (cJSON_IsArray(v) && n > 0 && n <= GW_ROUTE_MAX_CANDIDATES)))
        return fail(err, errsize, "%s.%s: %s", path, key, what);
    l->v = calloc((size_t)n, sizeof *l->v);
    if (!l->v)
        return AIGW_ENOMEM;
    const cJSON *it = cJSON_IsArray(v) ? v->child : v;
    for (int i = 0; i < n; i++, it = it->next) {
        if (!nonempty_str(it))
            return fail(err, errsize, "%s.%s[%d]: %s", path, key, i, what);
        if (!(l->v[i] = dup_str(it->valuestring)))
            return AIGW_ENOMEM;
        l->n++;
    }
    return 0;
}

static void free_strlist(struct gw_strlist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* {"name": "...", "value": "..."} (header) or {"key": "...", "value": ...} (metadata). */
static int parse_pair(const cJSON *v, const char *path, const char *key, const char *first,
                      int value_any, char **name, const cJSON **value, char *err, size_t errsize)
{
    if (!cJSON_IsObject(v))
        return fail(err, errsize, "%s.%s: expected an object {\"%s\", \"value\"}", path, key,
                    first);
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (strcmp(it->string, first) && strcmp(it->string, "value"))
            return fail(err, errsize, "%s.%s.%s: unknown key", path, key, it->string);
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, first);
    if (!nonempty_str(n))
        return fail(err, errsize, "%s.%s.%s: expected a non-empty string", path, key, first);
    *value = cJSON_GetObjectItemCaseSensitive(v, "value");
    if (*value && !(cJSON_IsString(*value) ||
                    (value_any && (cJSON_IsNumber(*value) || cJSON_IsBool(*value)))))
        return fail(err, errsize, "%s.%s.value: expected a string%s", path, key,
                    value_any ? ", a number or a boolean" : "");
    if (*value && cJSON_IsString(*value) && strlen((*value)->valuestring) >= RULE_STR_MAX)
        return fail(err, errsize, "%s.%s.value: too long", path, key);
    *name = dup_str(n->valuestring);
    return *name ? 0 : AIGW_ENOMEM;
}

int gw_rule_parse_when(struct gw_rule *rule, const cJSON *when, const char *path, char *err,
                       size_t errsize)
{
    if (!cJSON_IsObject(when))
        return fail(err, errsize, "%s: expected an object of conditions", path);
    const cJSON *it;
    cJSON_ArrayForEach(it, when)
    {
        if (!strcmp(it->string, "case_sensitive") && cJSON_IsBool(it))
            rule->case_sensitive = cJSON_IsTrue(it);
    }
    int rc = 0;
    cJSON_ArrayForEach(it, when)
    {
        const char *k = it->string;
        const cJSON *value = NULL;
        if (!strcmp(k, "model")) {
            rc = parse_strlist(&rule->model, it, path, k, err, errsize);
        } else if (!strcmp(k, "model_prefix")) {
            rc = parse_strlist(&rule->model_prefix, it, path, k, err, errsize);
        } else if (!strcmp(k, "contains")) {
            rc = parse_strlist(&rule->contains, it, path, k, err, errsize);
            rule->needs_text = 1;
        } else if (!strcmp(k, "not_contains")) {
            rc = parse_strlist(&rule->not_contains, it, path, k, err, errsize);
            rule->needs_text = 1;
        } else if (!strcmp(k, "header")) {
            rc = parse_pair(it, path, k, "name", 0, &rule->header_name, &value, err, errsize);
            if (!rc && value && !(rule->header_value = dup_str(value->valuestring)))
                rc = AIGW_ENOMEM;
        } else if (!strcmp(k, "metadata")) {
            rc = parse_pair(it, path, k, "key", 1, &rule->meta_key, &value, err, errsize);
            if (!rc && value && !(rule->meta_value = cJSON_Duplicate(value, 1)))
                rc = AIGW_ENOMEM;
        } else if (!strcmp(k, "regex")) {
            if (!nonempty_str(it))
                return fail(err, errsize, "%s.regex: expected a non-empty string", path);
            /* REG_NEWLINE: ^ and $ match at every line of a multi-line prompt. */
            int flags =
                REG_EXTENDED | REG_NOSUB | REG_NEWLINE | (rule->case_sensitive ? 0 : REG_ICASE);
            int e = regcomp(&rule->regex, it->valuestring, flags);
            if (e) {
                char why[160];
                regerror(e, &rule->regex, why, sizeof why);
                return fail(err, errsize,
                            "%s.regex: '%s' is not a valid POSIX extended "
                            "regular expression: %s",
                            path, it->valuestring, why);
            }
            rule->has_regex = 1;
            rule->needs_text = 1;
        } else if (!strcmp(k, "case_sensitive")) {
            if (!cJSON_IsBool(it))
                return fail(err, errsize, "%s.case_sensitive: expected true or false", path);
        } else {
            return fail(err, errsize,
                        "%s.%s: unknown condition (model, model_prefix, header, metadata, "
                        "contains, not_contains, regex, case_sensitive)",
                        path, k);
        }
        if (rc)
            return rc;
    }
    return 0;
}

void gw_rule_free(struct gw_rule *rule)
{
    free(rule->name);
    free_strlist(&rule->model);
    free_strlist(&rule->model_prefix);
    free_strlist(&rule->contains);
    free_strlist(&rule->not_contains);
    free(rule->header_name);
    free(rule->header_value);
    free(rule->meta_key);
    cJSON_Delete(rule->meta_value);
    if (rule->has_regex)
        regfree(&rule->regex);
    memset(rule, 0, sizeof *rule);
}

/* ---- matching --------------------------------------------------------------------------- */

static void append(char *buf, size_t cap, size_t *len, const char *s)
{
    if (*len && *len + 1 < cap)
        buf[(*len)++] = '\n';
    size_t n = strlen(s);
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

/* A string, or text parts ({"type":"text","text":...}), or an array of strings. */
static void append_content(char *buf, size_t cap, size_t *len, const cJSON *c)
{
    if (cJSON_IsString(c)) {
        append(buf, cap, len, c->valuestring);
        return;
    }
    const cJSON *part;
    cJSON_ArrayForEach(part, c)
    {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(part))
            append(buf, cap, len, part->valuestring);
        else if (cJSON_IsString(text))
            append(buf, cap, len, text->valuestring);
    }
}

size_t gw_route_user_text(const cJSON *body, char *buf, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return 0;
    buf[0] = '\0';
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (cJSON_IsArray(msgs)) {
        /* The latest user turn is what the user is asking for now; earlier turns and the
         * system prompt would make every rule match a whole conversation. */
        const cJSON *m, *last = NULL;
        cJSON_ArrayForEach(m, msgs)
        {
            const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
            if (cJSON_IsString(role) && !strcmp(role->valuestring, "user"))
                last = m;
        }
        if (last)
            append_content(buf, cap, &len, cJSON_GetObjectItemCaseSensitive(last, "content"));
        return len;
    }
    append_content(buf, cap, &len, cJSON_GetObjectItemCaseSensitive(body, "input"));
    append_content(buf, cap, &len, cJSON_GetObjectItemCaseSensitive(body, "prompt"));
    return len;
}

static int has_text(const char *text, const char *needle, int case_sensitive)
{
    return (case_sensitive ? strstr(text, needle) : strcasestr(text, needle)) != NULL;
}

static int match_request(const struct gw_rule *rule, const struct gw_route_ctx *ctx)
{
    const char *model = ctx->model ? ctx->model : "";
    if (rule->model.n) {
        int ok = 0;
        for (int i = 0; i < rule->model.n && !ok; i++)
            ok = !strcmp(model, rule->model.v[i]);
        if (!ok)
            return 0;
    }
    if (rule->model_prefix.n) {
        int ok = 0;
        for (int i = 0; i < rule->model_prefix.n && !ok; i++)
            ok = !strncmp(model, rule->model_prefix.v[i], strlen(rule->model_prefix.v[i]));
        if (!ok)
            return 0;
    }
    if (rule->header_name) {
        const char *v = ctx->header ? ctx->header(ctx->header_ud, rule->header_name) : NULL;
        if (!v || (rule->header_value && strcmp(v, rule->header_value)))
            return 0;
    }
    if (rule->meta_key) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(ctx->body, "metadata");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, rule->meta_key);
        if (!v || (rule->meta_value && !cJSON_Compare(v, rule->meta_value, 1)))
            return 0;
    }
    return 1;
}

static int match_text(const struct gw_rule *rule, const char *text)
{
    if (rule->contains.n) {
        int ok = 0;
        for (int i = 0; i < rule->contains.n && !ok; i++)
            ok = has_text(text, rule->contains.v[i], rule->case_sensitive);
        if (!ok)
            return 0;
    }
    for (int i = 0; i < rule->not_contains.n; i++)
        if (has_text(text, rule->not_contains.v[i], rule->case_sensitive))
            return 0;
    return !rule->has_regex || regexec(&rule->regex, text, 0, NULL, 0) == 0;
}

const struct gw_rule *gw_rules_match(const struct gw_router *r, const struct gw_route_ctx *ctx)
{
    char *text = NULL; /* extracted once, on the first rule that needs it */
    const struct gw_rule *found = NULL;
    for (size_t i = 0; i < r->nrules && !found; i++) {
        const struct gw_rule *rule = &r->rules[i];
        if (!match_request(rule, ctx))
            continue;
        if (rule->needs_text) {
            if (!text) {
                text = malloc(GW_ROUTE_TEXT_MAX);
                if (!text)
                    break; /* no memory to look: no text rule matches */
                gw_route_user_text(ctx->body, text, GW_ROUTE_TEXT_MAX);
            }
            if (!match_text(rule, text))
                continue;
        }
        found = rule;
    }
    free(text);
    return found;
}

const struct gw_variant *gw_variant_pick(const struct gw_router *r)
{
    double w[GW_ROUTE_MAX_CANDIDATES];
    int n = r->nvariants < GW_ROUTE_MAX_CANDIDATES ? (int)r->nvariants : GW_ROUTE_MAX_CANDIDATES;
    for (int i = 0; i < n; i++)
        w[i] = r->variants[i].weight;
    int k = gw_weighted_pick(w, n);
    return k < 0 ? NULL : &r->variants[k];
}
