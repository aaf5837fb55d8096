/* chain - the `guardrails` list: parsed, its guards loaded and instantiated, outcomes counted
 * (see guard.h). */
#include "guard/guard_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jschema.h"
#include "lib/log.h"
#include "lib/redact.h"

const char *gw_guard_dir(const char *cfg, const char *plugin_dir, char *buf, size_t size)
{
    const char *env = getenv("AIGW_GUARD_DIR");
    if (env && *env)
        return env;
    if (cfg && *cfg)
        return cfg;
    if ((size_t)snprintf(buf, size, "%s/guards", plugin_dir ? plugin_dir : ".") >= size)
        return NULL;
    return buf;
}

static const char *const entry_keys[] = {"name",      "stage", "config", "fail_open",
                                         "keys_only", "path",  NULL};

static int entry_fail(char *err, size_t errsize, size_t i, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int entry_fail(char *err, size_t errsize, size_t i, const char *name, const char *fmt, ...)
{
    struct gw_buf b;
    va_list ap;
    gw_buf_init(&b, 2048);
    if (name)
        gw_buf_printf(&b, "guardrails[%zu] (%s): ", i, name);
    else
        gw_buf_printf(&b, "guardrails[%zu]: ", i);
    va_start(ap, fmt);
    gw_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    gw_strlcpy(err, b.ptr ? b.ptr : "", errsize);
    gw_buf_free(&b);
    return AIGW_EINVAL;
}

static struct gw_guard_mod *find_mod(struct gw_guard_chain *c, const char *path)
{
    for (size_t i = 0; i < c->nmods; i++)
        if (!strcmp(c->mods[i]->path, path))
            return c->mods[i];
    return NULL;
}

static int parse_stage(const cJSON *v, unsigned *out)
{
    if (!v) {
        *out = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT;
        return 0;
    }
    if (!cJSON_IsString(v))
        return AIGW_EINVAL;
    if (!strcmp(v->valuestring, "input"))
        *out = AIGW_GUARD_INPUT;
    else if (!strcmp(v->valuestring, "output"))
        *out = AIGW_GUARD_OUTPUT;
    else if (!strcmp(v->valuestring, "both"))
        *out = AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT;
    else
        return AIGW_EINVAL;
    return 0;
}

/* The entry's shape, before anything is loaded. */
static int check_entry(const cJSON *e, size_t i, char *err, size_t errsize)
{
    const cJSON *k;
    if (!cJSON_IsObject(e))
        return entry_fail(err, errsize, i, NULL,
                          "must be an object {name, stage, config, fail_open}");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0] ||
        strlen(name->valuestring) >= GW_GUARD_NAME_MAX ||
        strspn(name->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
            strlen(name->valuestring))
        return entry_fail(err, errsize, i, NULL, "name: a guard name ([a-z0-9-]+) is required");
    const char *nm = name->valuestring;
    cJSON_ArrayForEach(k, e)
    {
        int known = 0;
        for (const char *const *p = entry_keys; *p; p++)
            known |= !strcmp(*p, k->string);
        if (!known)
            return entry_fail(err, errsize, i, nm, "%s: unknown key", k->string);
    }
    unsigned st;
    if (parse_stage(cJSON_GetObjectItemCaseSensitive(e, "stage"), &st))
        return entry_fail(err, errsize, i, nm, "stage: must be \"input\", \"output\" or \"both\"");
    k = cJSON_GetObjectItemCaseSensitive(e, "config");
    if (k && !cJSON_IsObject(k))
        return entry_fail(err, errsize, i, nm, "config: must be an object");
    k = cJSON_GetObjectItemCaseSensitive(e, "fail_open");
    if (k && !cJSON_IsBool(k))
        return entry_fail(err, errsize, i, nm, "fail_open: must be true or false");
    k = cJSON_GetObjectItemCaseSensitive(e, "keys_only");
    if (k && !cJSON_IsBool(k))
        return entry_fail(err, errsize, i, nm, "keys_only: must be true or false");
    k = cJSON_GetObjectItemCaseSensitive(e, "path");
    if (k && (!cJSON_IsString(k) || !k->valuestring[0] || strlen(k->valuestring) >= 4000))
        return entry_fail(err, errsize, i, nm, "path: must be a file name");
    return 0;
}

static int add_entry(struct gw_guard_chain *c, const cJSON *e, size_t i, const char *dir, char *err,
                     size_t errsize)
{
    const char *nm = cJSON_GetObjectItemCaseSensitive(e, "name")->valuestring;
    const cJSON *pathv = cJSON_GetObjectItemCaseSensitive(e, "path");
    char path[4096];
    if (cJSON_IsString(pathv))
        snprintf(path, sizeof path, "%s", pathv->valuestring);
    else if ((size_t)snprintf(path, sizeof path, "%s/%s.so", dir, nm) >= sizeof path)
        return entry_fail(err, errsize, i, nm, "the guard directory's name is too long");
    struct gw_guard_mod *m = find_mod(c, path);
    char lerr[600];
    if (!m) {
        int rc = gw_guard_mod_load(path, nm, &m, lerr, sizeof lerr);
        if (rc)
            return entry_fail(err, errsize, i, nm, "%s", lerr);
        c->mods[c->nmods++] = m;
    }
    struct gw_guard_entry *en = &c->entries[c->n];
    unsigned want;
    parse_stage(cJSON_GetObjectItemCaseSensitive(e, "stage"), &want);
    if (cJSON_GetObjectItemCaseSensitive(e, "stage") && (want & ~m->desc.stages))
        return entry_fail(err, errsize, i, nm, "stage: the guard only runs on the %s",
                          m->desc.stages == AIGW_GUARD_INPUT ? "input" : "output");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(e, "config");
    if (m->schema) {
        /* A missing config is checked as {}, so required members are still enforced. */
        char serr[300];
        cJSON *empty = cfg ? NULL : cJSON_CreateObject();
        int bad = gw_jschema_validate(m->schema, cfg ? cfg : empty, serr, sizeof serr);
        cJSON_Delete(empty);
        if (bad) /* "$.words: required" reads as "config.words: required" */
            return entry_fail(err, errsize, i, nm, "config%s", serr[0] == '$' ? serr + 1 : serr);
    }
    snprintf(en->name, sizeof en->name, "%s", nm);
    en->mod = m;
    en->stages = want & m->desc.stages;
    en->fail_open = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "fail_open"));
    en->keys_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "keys_only"));
    en->window = m->desc.window < GW_GUARD_WINDOW_CAP ? m->desc.window : GW_GUARD_WINDOW_CAP;
    char cerr[400] = "";
    gw_guard_host_creating(1);
    int rc = m->desc.create(gw_guard_host(), cfg, &en->instance, cerr, sizeof cerr);
    gw_guard_host_creating(0);
    if (rc < 0) {
        char safe[400];
        gw_redact(cerr, strnlen(cerr, sizeof cerr), safe, sizeof safe);
        return entry_fail(err, errsize, i, nm, "config: %s", safe[0] ? safe : "refused");
    }
    /* Its config may turn a stage off (pii's apply_to): the entry runs at what is left. */
    if (m->desc.instance_stages && !(en->stages &= m->desc.instance_stages(en->instance))) {
        if (m->desc.destroy)
            m->desc.destroy(en->instance);
        return entry_fail(err, errsize, i, nm, "stage: its config turns that stage off");
    }
    en->created = 1;
    c->n++;
    c->stages |= en->stages;
    c->has_keys_only |= en->keys_only;
    if (en->stages & AIGW_GUARD_OUTPUT) {
        c->has_delta |= m->desc.on_answer_delta != NULL;
        c->has_final |= m->desc.on_answer_final != NULL;
        c->has_error |= m->desc.on_error != NULL;
        if (m->desc.on_answer_delta && en->window > c->window)
            c->window = en->window;
    }
    return 0;
}

int gw_guard_chain_load(struct gw_guard_chain **out, const cJSON *guardrails, const char *dir,
                        char *err, size_t errsize)
{
    if (errsize)
        err[0] = '\0';
    if (!guardrails || (cJSON_IsArray(guardrails) && !cJSON_GetArraySize(guardrails))) {
        *out = NULL;
        return 0;
    }
    if (!dir) { /* gw_guard_dir() found the name too long */
        snprintf(err, errsize, "guardrails: the guard directory's name is too long");
        return AIGW_EINVAL;
    }
    if (!cJSON_IsArray(guardrails)) {
        snprintf(err, errsize, "guardrails: must be an array of {name, stage, config, fail_open}");
        return AIGW_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(guardrails), i = 0;
    if (n > GW_GUARD_MAX_ENTRIES) {
        snprintf(err, errsize, "guardrails: at most %d entries", GW_GUARD_MAX_ENTRIES);
        return AIGW_EINVAL;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, guardrails)
    {
        int rc = check_entry(e, i++, err, errsize);
        if (rc)
            return rc;
    }
    struct gw_guard_chain *c = calloc(1, sizeof *c);
    if (c) {
        c->mods = calloc(n, sizeof *c->mods);
        c->entries = calloc(n, sizeof *c->entries);
    }
    if (!c || !c->mods || !c->entries) {
        gw_guard_chain_free(c);
        return AIGW_ENOMEM;
    }
    i = 0;
    cJSON_ArrayForEach(e, guardrails)
    {
        int rc = add_entry(c, e, i++, dir, err, errsize);
        if (rc) {
            gw_guard_chain_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

void gw_guard_chain_free(struct gw_guard_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->entries && i < c->n; i++) {
        struct gw_guard_entry *en = &c->entries[i];
        if (en->created && en->mod->desc.destroy)
            en->mod->desc.destroy(en->instance);
    }
    for (size_t i = 0; c->mods && i < c->nmods; i++)
        gw_guard_mod_free(c->mods[i]);
    free(c->mods);
    free(c->entries);
    free(c);
}

size_t gw_guard_chain_size(const struct gw_guard_chain *c)
{
    return c ? c->n : 0;
}

int gw_guard_chain_has(const struct gw_guard_chain *c, unsigned stage)
{
    return c && (c->stages & stage) != 0;
}

int gw_guard_chain_keys_only(const struct gw_guard_chain *c)
{
    return c && c->has_keys_only;
}

const char *gw_guard_chain_entry(const struct gw_guard_chain *c, size_t i, unsigned *stages,
                                 int *fail_open)
{
    if (!c || i >= c->n)
        return NULL;
    if (stages)
        *stages = c->entries[i].stages;
    if (fail_open)
        *fail_open = c->entries[i].fail_open;
    return c->entries[i].name;
}

uint64_t gw_guard_chain_count(const struct gw_guard_chain *c, size_t i, unsigned stage, int outcome)
{
    if (!c || i >= c->n || outcome <= GW_GUARD_O_NONE || outcome >= GW_GUARD_O_COUNT)
        return 0;
    return atomic_load(&c->entries[i].counts[stage == AIGW_GUARD_INPUT ? 0 : 1][outcome]);
}

const char *gw_guard_outcome_name(int o)
{
    static const char *const names[GW_GUARD_O_COUNT] = {"none",  "allow", "rewrite",    "fail_open",
                                                        "retry", "deny",  "fail_closed"};
    return o >= 0 && o < GW_GUARD_O_COUNT ? names[o] : "none";
}
