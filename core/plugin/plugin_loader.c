/* plugin_loader - load, check and activate provider plugins (see plugin_loader.h). */
#include "plugin/plugin_loader.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ltdl.h>

#include "lib/log.h"
#include "lib/redact.h"
#include "plugin/host.h"

#define PLUGIN_EXT ".so"
#define MAX_PLUGINS 256

/* The members every ABI 1.x descriptor must have. */
#define MIN_DESC_SIZE (offsetof(struct aigw_provider, map_error) + sizeof(void *))

/* A table longer than this is refused: no provider needs that many knobs. */
#define MAX_ENV_VARS 64

static int ltdl_ready;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int valid_vkey(const char *v)
{
    if (!v || !*v || strlen(v) > 64)
        return 0;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return 0;
    return 1;
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* Decides activation from the env table; fills p->missing and p->why. */
static int env_satisfied(struct gw_plugin *p)
{
    const struct aigw_env_var *e = p->desc.env;
    int any_of_declared = 0, any_of_set = 0, ok = 1;
    size_t off = 0;
    p->missing[0] = '\0';
    for (; e && e->name; e++) {
        int set = env_set(e->name);
        if (e->flags & AIGW_ENV_ANY_OF) {
            any_of_declared = 1;
            any_of_set |= set;
        }
        if ((e->flags & AIGW_ENV_REQUIRED) && !set) {
            ok = 0;
            int n = snprintf(p->missing + off, sizeof p->missing - off, "%s%s", off ? "," : "",
                             e->name);
            if (n > 0 && (size_t)n < sizeof p->missing - off)
                off += (size_t)n;
        }
    }
    if (any_of_declared && !any_of_set) {
        ok = 0;
        for (e = p->desc.env; e && e->name; e++) {
            if (!(e->flags & AIGW_ENV_ANY_OF))
                continue;
            int n = snprintf(p->missing + off, sizeof p->missing - off, "%s%s", off ? "," : "",
                             e->name);
            if (n > 0 && (size_t)n < sizeof p->missing - off)
                off += (size_t)n;
        }
        snprintf(p->why, sizeof p->why, "needs one of: %s", p->missing);
    } else if (!ok) {
        snprintf(p->why, sizeof p->why, "missing %s", p->missing);
    }
    return ok;
}

static void free_plugin(struct gw_plugin *p)
{
    if (p->initialized && p->desc.fini) {
        gw_host_set_current(p);
        p->desc.fini(p->plugin_data);
        gw_host_set_current(NULL);
    }
    if (p->handle)
        lt_dlclose((lt_dlhandle)p->handle);
    pthread_mutex_destroy(&p->cred_lock);
    for (size_t i = 0; i < p->env_count; i++)
        free(p->env_values[i]);
    free(p->env_values);
    free(p->cred_token);
    free(p->file);
    free(p->kept);
    free(p);
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *str_keep(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*at, s, n);
    *at += n;
    return d;
}

/* An inactive provider is never called, yet its mapped code and relocated data stay resident
 * (~30 kB each, and most of a deployment's plugins are inactive). Copies what describes it
 * into one block the core owns, clears every pointer into the module, and closes it. On
 * failure the module simply stays loaded, as before. */
static void retire(struct gw_plugin *p)
{
    const struct aigw_provider *d = &p->desc;
    size_t n = 0, bytes = str_size(d->name) + str_size(d->vkey) + str_size(d->version);
    for (const struct aigw_env_var *e = d->env; e && e->name; e++, n++)
        bytes += str_size(e->name) + str_size(e->default_value) + str_size(e->help);
    size_t table = (n + 1) * sizeof(struct aigw_env_var);
    char *block = malloc(table + bytes);
    if (!block)
        return;
    struct aigw_env_var *env = (struct aigw_env_var *)(void *)block;
    char *at = block + table;
    for (size_t i = 0; i < n; i++) {
        env[i].name = str_keep(&at, d->env[i].name);
        env[i].flags = d->env[i].flags;
        env[i].default_value = str_keep(&at, d->env[i].default_value);
        env[i].help = str_keep(&at, d->env[i].help);
    }
    memset(&env[n], 0, sizeof env[n]);
    /* Only the describing members survive; every callback is left NULL. */
    struct aigw_provider keep;
    memset(&keep, 0, sizeof keep);
    keep.abi_version = d->abi_version;
    keep.struct_size = d->struct_size;
    keep.name = str_keep(&at, d->name);
    keep.vkey = str_keep(&at, d->vkey);
    keep.version = str_keep(&at, d->version);
    keep.capabilities = d->capabilities;
    keep.stream_framing = d->stream_framing;
    keep.env = env;
    keep.state_size = d->state_size;
    p->desc = keep;
    p->kept = block;
    /* host->env answers only an active plugin's calls: the values (maybe secrets) can go. */
    for (size_t i = 0; i < p->env_count; i++)
        free(p->env_values[i]);
    free(p->env_values);
    p->env_values = NULL;
    p->env_count = 0;
    p->plugin_data = NULL;
    lt_dlclose((lt_dlhandle)p->handle);
    p->handle = NULL;
}

/* Reads the plugin's env table once, so requests never call getenv() and the plugin can
 * only ever see the variables it declared. Returns 0, or a static reason. */
static const char *snapshot_env(struct gw_plugin *p)
{
    size_t n = 0;
    for (const struct aigw_env_var *e = p->desc.env; e && e->name; e++)
        if (++n > MAX_ENV_VARS)
            return "env table longer than 64 entries";
    if (!n)
        return NULL;
    p->env_values = calloc(n, sizeof *p->env_values);
    if (!p->env_values)
        return "out of memory";
    p->env_count = n;
    for (size_t i = 0; i < n; i++) {
        const struct aigw_env_var *e = &p->desc.env[i];
        const char *v = getenv(e->name);
        if (!v || !*v)
            v = e->default_value;
        if (v && !(p->env_values[i] = strdup(v)))
            return "out of memory";
    }
    return NULL;
}

const char *gw_plugin_env(const struct gw_plugin *p, const char *name)
{
    for (size_t i = 0; p && name && i < p->env_count; i++)
        if (strcmp(p->desc.env[i].name, name) == 0)
            return p->env_values[i];
    return NULL;
}

/* Loads one file; returns the plugin or NULL (after logging why). */
static struct gw_plugin *load_one(const char *dir, const char *name, struct gw_plugins *ps)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        GW_WARN("plugin %s skipped: path too long", name);
        return NULL;
    }
    lt_dladvise advise;
    lt_dlhandle h = NULL;
    if (lt_dladvise_init(&advise) == 0) {
        lt_dladvise_local(&advise);
        h = lt_dlopenadvise(path, advise);
        lt_dladvise_destroy(&advise);
    }
    if (!h) {
        const char *err = lt_dlerror();
        GW_WARN("plugin %s skipped: not a loadable shared object (%s)", name,
                err ? err : "unknown error");
        return NULL;
    }
    aigw_plugin_entry_fn entry =
        (aigw_plugin_entry_fn)(uintptr_t)lt_dlsym(h, AIGW_PLUGIN_ENTRY_SYMBOL);
    if (!entry) {
        GW_WARN("plugin %s skipped: no %s symbol", name, AIGW_PLUGIN_ENTRY_SYMBOL);
        lt_dlclose(h);
        return NULL;
    }
    const struct aigw_provider *d = entry();
    const char *why = NULL;
    if (!d)
        why = "entry point returned no descriptor";
    else if (AIGW_ABI_MAJOR_OF(d->abi_version) != AIGW_ABI_MAJOR)
        why = "built for another ABI major version";
    else if (AIGW_ABI_MINOR_OF(d->abi_version) > AIGW_ABI_MINOR)
        why = "built for a newer ABI minor version than this aigw";
    else if (d->struct_size < MIN_DESC_SIZE)
        why = "descriptor struct_size too small";
    if (why) {
        if (d)
            GW_WARN("plugin %s skipped: %s (plugin ABI %u.%u, struct_size %u; aigw ABI %u.%u)",
                    name, why, AIGW_ABI_MAJOR_OF(d->abi_version), AIGW_ABI_MINOR_OF(d->abi_version),
                    d->struct_size, AIGW_ABI_MAJOR, AIGW_ABI_MINOR);
        else
            GW_WARN("plugin %s skipped: %s", name, why);
        lt_dlclose(h);
        return NULL;
    }
    struct gw_plugin *p = calloc(1, sizeof *p);
    if (!p) {
        lt_dlclose(h);
        return NULL;
    }
    pthread_mutex_init(&p->cred_lock, NULL);
    size_t n = d->struct_size < sizeof p->desc ? d->struct_size : sizeof p->desc;
    memcpy(&p->desc, d, n);
    p->handle = h;
    p->file = strdup(name);
    if (!valid_vkey(p->desc.vkey) || !p->desc.name || !p->desc.build_request) {
        GW_WARN("plugin %s skipped: descriptor incomplete (vkey must be [a-z0-9-]+; name and "
                "build_request are required)",
                name);
        free_plugin(p);
        return NULL;
    }
    const char *why_env = snapshot_env(p);
    if (why_env) {
        GW_WARN("plugin %s skipped: %s", name, why_env);
        free_plugin(p);
        return NULL;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (strcmp(ps->items[i]->desc.vkey, p->desc.vkey) == 0) {
            GW_WARN("plugin %s skipped: duplicate vkey '%s' (already provided by %s)", name,
                    p->desc.vkey, ps->items[i]->file);
            free_plugin(p);
            return NULL;
        }
    }
    return p;
}

static void activate(struct gw_plugin *p)
{
    if (!env_satisfied(p)) {
        p->active = 0;
        return;
    }
    const char *why = NULL;
    int rc = 0;
    if (p->desc.init) {
        gw_host_set_current(p);
        rc = p->desc.init(gw_host(), &p->plugin_data, &why);
        gw_host_set_current(NULL);
    }
    if (rc < 0) {
        snprintf(p->why, sizeof p->why, "declined: %s", why ? why : "init failed");
        p->active = 0;
        return;
    }
    p->initialized = 1;
    p->active = 1;
    p->why[0] = '\0';
}

int gw_plugins_load(struct gw_plugins *ps, const char *dir)
{
    ps->items = NULL;
    ps->n = 0;
    if (!ltdl_ready) {
        if (lt_dlinit() != 0)
            return AIGW_EINTERNAL;
        ltdl_ready = 1;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        GW_WARN("plugin directory %s cannot be read: %s", dir, strerror(errno));
        return -errno;
    }
    char *names[MAX_PLUGINS];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && nn < MAX_PLUGINS) {
        size_t len = strlen(de->d_name);
        size_t el = sizeof PLUGIN_EXT - 1;
        if (len > el && strcmp(de->d_name + len - el, PLUGIN_EXT) == 0 && de->d_name[0] != '.')
            names[nn++] = strdup(de->d_name);
    }
    closedir(dh);
    qsort(names, nn, sizeof names[0], cmp_names);
    ps->items = calloc(nn ? nn : 1, sizeof *ps->items);
    for (size_t i = 0; i < nn; i++) {
        if (names[i] && ps->items) {
            struct gw_plugin *p = load_one(dir, names[i], ps);
            if (p)
                ps->items[ps->n++] = p;
        }
        free(names[i]);
    }
    if (!ps->items)
        return AIGW_ENOMEM;
    for (size_t i = 0; i < ps->n; i++) {
        struct gw_plugin *p = ps->items[i];
        activate(p);
        if (p->active)
            GW_INFO("provider %s (%s %s): active", p->desc.vkey, p->file,
                    p->desc.version ? p->desc.version : "");
        else
            GW_INFO("provider %s (%s %s): inactive, %s", p->desc.vkey, p->file,
                    p->desc.version ? p->desc.version : "", p->why);
        if (!p->active)
            retire(p);
    }
    gw_plugins_register_secrets(ps);
    return 0;
}

void gw_plugins_unload(struct gw_plugins *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free_plugin(ps->items[i]);
    free(ps->items);
    ps->items = NULL;
    ps->n = 0;
}

struct gw_plugin *gw_plugins_find(const struct gw_plugins *ps, const char *vkey)
{
    /* Routing asks once per catalog entry of the model (dozens, mostly providers with no
     * plugin): the first byte settles nearly every miss without a strcmp call. */
    for (size_t i = 0; ps && i < ps->n; i++) {
        const char *k = ps->items[i]->desc.vkey;
        if (k[0] == vkey[0] && strcmp(k, vkey) == 0)
            return ps->items[i];
    }
    return NULL;
}

size_t gw_plugins_active_count(const struct gw_plugins *ps)
{
    size_t n = 0;
    for (size_t i = 0; ps && i < ps->n; i++)
        n += ps->items[i]->active ? 1 : 0;
    return n;
}

void gw_plugins_active_list(const struct gw_plugins *ps, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; ps && i < ps->n; i++) {
        if (!ps->items[i]->active)
            continue;
        int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", ps->items[i]->desc.vkey);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}

void gw_plugins_register_secrets(const struct gw_plugins *ps)
{
    for (size_t i = 0; ps && i < ps->n; i++)
        for (const struct aigw_env_var *e = ps->items[i]->desc.env; e && e->name; e++)
            if (e->flags & AIGW_ENV_SECRET)
                gw_redact_register(getenv(e->name));
}

void gw_caps_string(unsigned caps, char *buf, size_t size)
{
    static const char *const names[] = {"chat",   "stream",      "tools",
                                        "vision", "json_schema", "embeddings",
                                        "images", "reasoning",   "models"};
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & (1u << i)))
            continue;
        int n = snprintf(buf + off, size - off, "%s%s", off ? "," : "", names[i]);
        if (n < 0 || (size_t)n >= size - off)
            break;
        off += (size_t)n;
    }
}
