/* admin_config - GET /admin/config and secret masking (see admin_status.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admin/admin_status.h"
#include "admin/admin_util.h"
#include "aigw/plugin.h"
#include "lib/buf.h"

#define MASK "***"

/* A member name that holds a secret: matched loosely on purpose, so a key added later
 * (admin.key, otel.headers, a redis password) is masked without anyone remembering to. */
static int secret_name(const char *name)
{
    char l[64];
    size_t n = 0;
    for (; name && name[n] && n + 1 < sizeof l; n++)
        l[n] = (char)tolower((unsigned char)name[n]);
    l[n] = '\0';
    static const char *const parts[] = {"token",         "secret",  "password", "passwd",
                                        "authorization", "api_key", "apikey",   "headers",
                                        "credential",    "cookie"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strstr(l, parts[i]))
            return 1;
    return !strcmp(l, "key") || !strcmp(l, "keys") || (n > 4 && !strcmp(l + n - 4, "_key"));
}

/* Every leaf under a secret's name, whatever its shape (a header map, a list of keys). */
static void mask_all(cJSON *it)
{
    if (cJSON_IsString(it)) {
        if (it->valuestring[0])
            cJSON_SetValuestring(it, MASK);
        return;
    }
    cJSON *c, *next;
    for (c = it->child; c; c = next) {
        next = c->next;
        if (cJSON_IsNumber(c))
            cJSON_ReplaceItemViaPointer(it, c, cJSON_CreateString(MASK));
        else
            mask_all(c);
    }
}

/* "password=x" -> "password=***", and so for every parameter a secret's name names (token=,
 * api_key=, key=, sslpassword=, ...: secret_name), everywhere in s: a URL's query (up to the
 * next &, ; or #) or the libpq keyword form (up to the next space); into out. Any such name is
 * masked, not a list of schemes' own: a collector's ?api_key= or Google's ?key= in a base URL
 * is as secret as libpq's password. 1 when something was masked, 0 when not, -1 when out is
 * too small. */
static int mask_secret_params(const char *s, int url, char *out, size_t size)
{
    const char *seps = url ? "?&;" : " \t";
    size_t o = 0;
    int found = 0;
    const char *p = s; /* copied to out up to here */
    for (const char *eq = strchr(s, '='); eq; eq = *eq ? strchr(eq + 1, '=') : NULL) {
        const char *name = eq;
        while (name > s && !strchr(seps, name[-1]) && name[-1] != '=')
            name--;
        if ((name > s && !strchr(seps, name[-1])) || (url && name == s) || name == eq ||
            eq - name >= 64)
            continue;
        char n[64];
        memcpy(n, name, (size_t)(eq - name));
        n[eq - name] = '\0';
        if (!secret_name(n))
            continue;
        const char *v = eq + 1, *end = v + strcspn(v, url ? "&#;" : " \t");
        int w = snprintf(out + o, size - o, "%.*s%s", (int)(v - p), p, MASK);
        if (w < 0 || (size_t)w >= size - o)
            return -1;
        o += (size_t)w;
        p = end;
        eq = end; /* the next name starts after this value */
        found = 1;
    }
    if (!found)
        return 0; /* nothing to mask: however long s is, it stays */
    int w = snprintf(out + o, size - o, "%s", p);
    if (w < 0 || (size_t)w >= size - o)
        return -1;
    return 1;
}

/* "scheme://user:pass@host" -> "scheme://user:***@host", and every secret parameter in a URL's
 * query or the libpq keyword form -> "name=***" (a URL may carry both). 1 when s changed
 * (into out), 0 when not, -1 when it holds a secret that does not fit out. */
static int mask_url(const char *s, char *out, size_t size)
{
    char tmp[2048];
    const char *sch = strstr(s, "://");
    int changed = 0;
    if (sch) {
        const char *auth = sch + 3;
        const char *end = auth + strcspn(auth, "/?#");
        const char *at = NULL;
        for (const char *p = auth; p < end; p++)
            if (*p == '@')
                at = p;
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            const char *cut = colon ? colon + 1 : auth;
            int w = snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(cut - s), s, MASK, at);
            if (w < 0 || (size_t)w >= sizeof tmp)
                return -1;
            s = tmp;
            changed = 1;
        }
    }
    int m = mask_secret_params(s, sch != NULL, out, size);
    if (m < 0)
        return -1;
    if (!m && changed && gw_strlcpy(out, s, size) >= size)
        return -1;
    return m || changed;
}

void gw_admin_mask_secrets(cJSON *doc)
{
    cJSON *c, *next;
    for (c = doc ? doc->child : NULL; c; c = next) {
        next = c->next;
        if (c->string && secret_name(c->string)) {
            if (cJSON_IsNumber(c))
                cJSON_ReplaceItemViaPointer(doc, c, cJSON_CreateString(MASK));
            else
                mask_all(c);
            continue;
        }
        if (cJSON_IsString(c)) {
            char m[2048];
            int r = mask_url(c->valuestring, m, sizeof m);
            if (r > 0)
                cJSON_SetValuestring(c, m);
            else if (r < 0)
                cJSON_SetValuestring(c, MASK); /* too long to rewrite: hide it all */
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            gw_admin_mask_secrets(c);
        }
    }
}

/* The object at a dotted path's parent, created as needed; *leaf gets the last name. */
static cJSON *parent_of(cJSON *root, const char *dotted, char *leaf, size_t size)
{
    cJSON *o = root;
    const char *p = dotted;
    for (const char *dot; (dot = strchr(p, '.')); p = dot + 1) {
        char part[64];
        size_t n = (size_t)(dot - p);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        cJSON *c = cJSON_GetObjectItemCaseSensitive(o, part);
        if (!cJSON_IsObject(c)) {
            if (c)
                return NULL;
            c = cJSON_AddObjectToObject(o, part);
        }
        o = c;
    }
    snprintf(leaf, size, "%s", p);
    return o;
}

static void set(cJSON *root, const char *dotted, cJSON *v)
{
    char leaf[64];
    cJSON *o = v ? parent_of(root, dotted, leaf, sizeof leaf) : NULL;
    if (!o) {
        cJSON_Delete(v);
        return;
    }
    if (cJSON_GetObjectItemCaseSensitive(o, leaf))
        cJSON_ReplaceItemInObjectCaseSensitive(o, leaf, v);
    else
        cJSON_AddItemToObject(o, leaf, v);
}

static cJSON *typed_default(const struct gw_config_key *k)
{
    if (!strcmp(k->type, "object"))
        return NULL; /* made by its members */
    if (!strcmp(k->type, "integer"))
        return cJSON_CreateNumber(strtod(k->dflt, NULL));
    if (!strcmp(k->type, "boolean"))
        return cJSON_CreateBool(!strcmp(k->dflt, "true"));
    if (!strcmp(k->type, "array") || (k->dflt[0] == '{'))
        return cJSON_Parse(k->dflt[0] ? k->dflt : "[]");
    return cJSON_CreateString(k->dflt);
}

static const char *level_name(int l)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return l >= 0 && l < 4 ? names[l] : "info";
}

/* Members the struct holds after flags and defaults: they win over the file. */
static void overlay(cJSON *d, const struct gw_config *c)
{
    char listen[300];
    int v6 = strchr(c->listen_host, ':') != NULL;
    snprintf(listen, sizeof listen, "%s%s%s:%d", v6 ? "[" : "", c->listen_host, v6 ? "]" : "",
             c->listen_port);
    set(d, "listen", cJSON_CreateString(listen));
    set(d, "max_body_bytes", cJSON_CreateNumber((double)c->max_body_bytes));
    set(d, "max_connections", cJSON_CreateNumber(c->max_connections));
    set(d, "threads", cJSON_CreateNumber(c->threads));
    set(d, "timeouts.connect_ms", cJSON_CreateNumber((double)c->connect_timeout_ms));
    set(d, "timeouts.first_byte_ms", cJSON_CreateNumber((double)c->first_byte_timeout_ms));
    set(d, "timeouts.idle_ms", cJSON_CreateNumber((double)c->idle_timeout_ms));
    set(d, "timeouts.request_ms", cJSON_CreateNumber((double)c->request_timeout_ms));
    set(d, "stream.heartbeat_ms", cJSON_CreateNumber((double)c->heartbeat_ms));
    set(d, "stream.commit_ms", cJSON_CreateNumber((double)c->commit_ms));
    set(d, "stream.buffer_bytes", cJSON_CreateNumber((double)c->stream_buffer_bytes));
    set(d, "shutdown.grace_ms", cJSON_CreateNumber((double)c->shutdown_grace_ms));
    set(d, "log.level", cJSON_CreateString(level_name(c->log_level)));
    set(d, "log.file", cJSON_CreateString(c->log_file));
    set(d, "log.access_log", cJSON_CreateString(c->access_log));
    set(d, "log.bodies", cJSON_CreateBool(c->log_bodies));
    set(d, "log.retention_days", cJSON_CreateNumber(c->log_retention_days));
    set(d, "state_dir", cJSON_CreateString(c->state_dir));
    char url[1200];
    if (gw_config_store_url(c, url, sizeof url) == 0)
        set(d, "store.url", cJSON_CreateString(url));
    set(d, "plugin_dir", cJSON_CreateString(c->plugin_dir));
    set(d, "catalog.path", cJSON_CreateString(c->catalog_path));
    set(d, "metrics.enabled", cJSON_CreateBool(c->metrics_enabled));
    set(d, "metrics.listen", cJSON_CreateString(c->metrics_listen));
    set(d, "metrics.token", cJSON_CreateString(c->metrics_token));
    set(d, "metrics.max_models", cJSON_CreateNumber(c->metrics_max_models));
    /* from AIGW_ADMIN_KEY or the file; masked below like every other key */
    set(d, "admin.key", cJSON_CreateString(c->admin_key));
}

/* Every key's default, then the file as read (its ${VAR}s expanded), member by member, then
 * what the struct holds after flags and defaults. */
static cJSON *effective(const struct gw_config *c)
{
    cJSON *eff = cJSON_CreateObject();
    for (const struct gw_config_key *k = gw_config_keys(); k && k->key; k++)
        set(eff, k->key, typed_default(k));
    const cJSON *m;
    cJSON_ArrayForEach(m, c->root)
    {
        cJSON *mine = cJSON_GetObjectItemCaseSensitive(eff, m->string);
        if (cJSON_IsObject(m) && cJSON_IsObject(mine)) {
            const cJSON *mm;
            cJSON_ArrayForEach(mm, m)
            {
                cJSON *dup = cJSON_Duplicate(mm, 1);
                if (cJSON_GetObjectItemCaseSensitive(mine, mm->string))
                    cJSON_ReplaceItemInObjectCaseSensitive(mine, mm->string, dup);
                else
                    cJSON_AddItemToObject(mine, mm->string, dup);
            }
        } else {
            set(eff, m->string, cJSON_Duplicate(m, 1));
        }
    }
    overlay(eff, c);
    return eff;
}

int gw_admin_config_handle(const struct gw_config *c, const char *method, const char *path,
                           struct gw_buf *out, int *status)
{
    return gw_admin_config_view(c, c, 0, NULL, NULL, method, path, out, status);
}

int gw_admin_config_view(const struct gw_config *running, const struct gw_config *now,
                         uint64_t generation, const char *const *restart_keys,
                         const char *pending_keys, const char *method, const char *path,
                         struct gw_buf *out, int *status)
{
    if (path && *path && *path != '?' && strcmp(path, "/"))
        return gw_admin_fail(out, status, 404, "not_found", NULL, "no such admin route");
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return gw_admin_fail(out, status, 405, "method_not_allowed", NULL, "use GET");
    cJSON *eff = effective(now);
    if (running != now) {
        /* What a reload cannot apply is what the process started with. */
        cJSON *run = effective(running);
        for (const char *const *k = restart_keys; k && *k; k++) {
            const cJSON *was = gw_config_get(run, *k);
            if (was)
                set(eff, *k, cJSON_Duplicate(was, 1));
        }
        cJSON_Delete(run);
    }
    /* What a reloaded file changed of those, waiting for a restart: "a, b" -> ["a", "b"]. */
    cJSON *pending = cJSON_CreateArray();
    for (const char *p = pending_keys; p && *p;) {
        size_t n = strcspn(p, ",");
        char k[128];
        snprintf(k, sizeof k, "%.*s", (int)(n < sizeof k ? n : sizeof k - 1), p);
        cJSON_AddItemToArray(pending, cJSON_CreateString(k));
        p += n;
        p += strspn(p, ", ");
    }
    gw_admin_mask_secrets(eff);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "object", "config");
    cJSON_AddStringToObject(doc, "source", now->source);
    if (generation)
        cJSON_AddNumberToObject(doc, "generation", (double)generation);
    cJSON_AddItemToObject(doc, "needs_restart", pending);
    cJSON_AddItemToObject(doc, "config", eff);
    return gw_admin_emit(out, status, 200, doc);
}
