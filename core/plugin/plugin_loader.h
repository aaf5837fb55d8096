/*
 * plugin_loader - finds, checks and activates provider plugins. The only user of libltdl.
 * Loads every "*.so" in the plugin directory in name order, checks the ABI before reading
 * anything else, copies the descriptor into a zeroed struct of the host's size, activates a
 * provider when its environment says so and its init() agrees. Each plugin's env table is
 * read once, at load: host->env answers a plugin from its own snapshot and nothing else.
 * An inactive provider's module is closed once activation is decided: its desc then holds
 * only core-owned copies of the describing members (names, version, capabilities, env table)
 * and NULL callbacks, and handle is NULL.
 *
 * Threading: load/unload on the main thread before/after serving. The table is read-only
 * while serving (the credential cache has its own lock).
 */
#ifndef GW_PLUGIN_LOADER_H
#define GW_PLUGIN_LOADER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "aigw/plugin.h"

struct gw_plugin {
    struct aigw_provider desc; /* the plugin's descriptor, zero-extended to our size */
    char *file;                /* base name of the shared object */
    void *handle;              /* lt_dlhandle; NULL once an inactive provider is closed */
    void *kept;                /* inactive: the block desc's strings and env table live in */
    int active;
    char why[640];     /* why inactive: missing variables or init()'s reason */
    char missing[512]; /* names of the missing required variables, comma separated */
    void *plugin_data;
    int initialized;
    /* What host->env answers this plugin: one value per entry of desc.env, read at load (the
     * variable when set and non-empty, else the table's default, else NULL). */
    char **env_values;
    size_t env_count;
    /* Credential cache for credentials_build/credentials_parse. */
    pthread_mutex_t cred_lock;
    char *cred_token;
    int64_t cred_expires_ms; /* monotonic */
};

struct gw_plugins {
    struct gw_plugin **items;
    size_t n;
};

/* Loads every plugin in dir. Returns 0 (even when some were skipped: each skip is logged
 * with the file and the reason), or negative when dir cannot be read. */
int gw_plugins_load(struct gw_plugins *ps, const char *dir);
void gw_plugins_unload(struct gw_plugins *ps);
struct gw_plugin *gw_plugins_find(const struct gw_plugins *ps, const char *vkey);
size_t gw_plugins_active_count(const struct gw_plugins *ps);
/* Comma-separated list of active vkeys into buf. */
void gw_plugins_active_list(const struct gw_plugins *ps, char *buf, size_t size);
/* Registers every SECRET variable's value of every loaded plugin with redact. */
void gw_plugins_register_secrets(const struct gw_plugins *ps);
/* host->env for plugin p: the load-time value of a variable of p's own table, or NULL for
 * any name p did not declare (another plugin's key, an unrelated process variable). */
const char *gw_plugin_env(const struct gw_plugin *p, const char *name);
/* Capability bits as a string "chat,stream,tools,...". */
void gw_caps_string(unsigned caps, char *buf, size_t size);

#endif
