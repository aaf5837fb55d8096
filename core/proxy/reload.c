/* reload - the config file, re-read while serving (see reload.h). */
#include "proxy/reload.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aigw/plugin.h"
#include "cache/cache.h"
#include "catalog/catalog.h"
#include "config.h"
#include "guard/guard.h"
#include "lib/log.h"
#include "obs/otel.h"
#include "proxy/gateway.h"
#include "proxy/snapshot.h"
#include "store/store.h"

static const char *const restart_keys[] = {
    "listen",
    "max_connections",
    "threads",
    "state_dir",
    "store",
    "plugin_dir",
    "catalog",
    "metrics",
    "otel",
    "redis",
    "cache",
    "admin",
    "log.file",
    "log.access_log",
    "log.queue_rows",
    "limits.budget_fail_open",
    "limits.lease_seconds",
    "auth.max_failures",
    "auth.failure_window_s",
    NULL,
};

const char *const *gw_reload_restart_keys(void)
{
    return restart_keys;
}

/* The sections a reload does not apply are still judged as a start would judge them, so a
 * file accepted now does not stop the next start. */
static int check_rest(const struct gw_config *c, char *err, size_t errsize)
{
    char e[768] = "";
    struct gw_cache_cfg cc;
    int rc = gw_cache_cfg_parse(c->cache, c->redis_url[0] != '\0', &cc, e, sizeof e);
    if (rc == 0) {
        struct gw_otel_config oc;
        gw_otel_config_init(&oc);
        rc = gw_otel_config_parse(&oc, gw_config_get(c->root, "otel"), NULL, e, sizeof e);
        gw_otel_config_free(&oc);
    }
    if (rc == 0 && c->catalog_overrides) {
        struct gw_catalog *scratch = gw_catalog_new();
        rc = scratch ? gw_catalog_merge(scratch, c->catalog_overrides, c->source, err, errsize)
                     : AIGW_ENOMEM;
        gw_catalog_free(scratch);
        return rc; /* gw_catalog_merge names the file itself */
    }
    if (rc < 0)
        snprintf(err, errsize, "%.500s: %.500s", c->source, e);
    return rc;
}

static void note_restart(const struct gw_config *running, const struct gw_config *file, char *out,
                         size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (const char *const *k = restart_keys; *k; k++) {
        if (cJSON_Compare(gw_config_get(running->root, *k), gw_config_get(file->root, *k), 1))
            continue;
        if (!gw_config_get(running->root, *k) && !gw_config_get(file->root, *k))
            continue;
        int n = snprintf(out + o, size - o, "%s%s", o ? ", " : "", *k);
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
}

/* The settings only a restart applies stay as running (the file's are reported instead), so
 * the snapshot says what is in effect; flags given at the start keep winning. */
static void keep_running(struct gw_config *nc, const struct gw_config *run)
{
    memcpy(nc->listen_host, run->listen_host, sizeof nc->listen_host);
    nc->listen_port = run->listen_port;
    nc->max_connections = run->max_connections;
    nc->threads = run->threads;
    memcpy(nc->log_file, run->log_file, sizeof nc->log_file);
    memcpy(nc->access_log, run->access_log, sizeof nc->access_log);
    memcpy(nc->plugin_dir, run->plugin_dir, sizeof nc->plugin_dir);
    memcpy(nc->catalog_path, run->catalog_path, sizeof nc->catalog_path);
    memcpy(nc->redis_url, run->redis_url, sizeof nc->redis_url);
    nc->metrics_enabled = run->metrics_enabled;
    memcpy(nc->metrics_listen, run->metrics_listen, sizeof nc->metrics_listen);
    memcpy(nc->metrics_token, run->metrics_token, sizeof nc->metrics_token);
    nc->metrics_max_models = run->metrics_max_models;
    memcpy(nc->state_dir, run->state_dir, sizeof nc->state_dir);
    memcpy(nc->store_url, run->store_url, sizeof nc->store_url);
    memcpy(nc->admin_key, run->admin_key, sizeof nc->admin_key);
    nc->redis_timeout_ms = run->redis_timeout_ms;
    nc->redis_replicas = run->redis_replicas;
    nc->budget_fail_open = run->budget_fail_open;
    nc->lease_seconds = run->lease_seconds;
    nc->log_queue_rows = run->log_queue_rows;
    nc->auth_max_failures = run->auth_max_failures;
    nc->auth_failure_window_s = run->auth_failure_window_s;
}

static int reload_locked(struct gw_gateway *gw, struct gw_reload_result *res)
{
    if (!gw->config_path[0]) {
        snprintf(res->error, sizeof res->error,
                 "aigw was started without --config: there is no file to reload");
        return AIGW_EINVAL;
    }
    struct gw_config nc;
    gw_config_defaults(&nc);
    int rc = gw_config_load(&nc, gw->config_path, res->error, sizeof res->error);
    if (rc == 0 && gw->cli_log_level >= 0)
        nc.log_level = gw->cli_log_level; /* the flag wins over the file, as at the start */
    if (rc == 0)
        rc = check_rest(&nc, res->error, sizeof res->error);
    if (rc == 0) {
        note_restart(gw->cfg, &nc, res->restart, sizeof res->restart);
        keep_running(&nc, gw->cfg);
    }
    /* The guard chain first (its modules loaded, its entries checked), then the snapshot. Both
     * happen under reload_lock, as does every other load or free of guard modules while
     * serving: libltdl is not thread-safe. */
    struct gw_guard_chain *chain = NULL;
    char e[768] = "";
    if (rc == 0) {
        char gbuf[4200];
        const char *gdir = gw_guard_dir(nc.guard_dir, gw->plugin_dir, gbuf, sizeof gbuf);
        rc = gw_guard_chain_load(&chain, nc.guardrails, gdir, e, sizeof e);
    }
    struct gw_snap *next = NULL;
    if (rc == 0) {
        struct gw_snap *prev = gw_snap_acquire(gw);
        rc = gw_snap_new(&next, &nc, gw->plugins, gw->catalog, prev, NULL, e, sizeof e);
        gw_snap_release(prev);
        if (rc < 0)
            gw_guard_chain_free(chain);
    }
    if (rc < 0 && !res->error[0])
        snprintf(res->error, sizeof res->error, "%.500s: %.500s", nc.source,
                 e[0] ? e : "out of memory");
    if (rc < 0) {
        gw_config_free(&nc);
        return rc == AIGW_ENOMEM ? rc : AIGW_EINVAL;
    }
    snprintf(next->needs_restart, sizeof next->needs_restart, "%s", res->restart);
    res->generation = next->generation;
    /* The new chain becomes the gateway's and the snapshot's (still private) reference, then
     * the snapshot is published: requests see new routing and new guards together. The old
     * chain is freed by a later swap once its last request is gone. */
    gw_gateway_swap_guards(gw, chain);
    next->guards = gw_gateway_guards(gw);
    gw_snap_publish(gw, next);
    /* What lives outside the snapshot follows it at once: one atomic store each. */
    gw_log_set_level(nc.log_level);
    if (gw->store)
        gw_store_set_log_opts(gw->store, nc.log_bodies, nc.log_retention_days);
    gw_config_free(&nc);
    res->applied = 1;
    return 0;
}

int gw_gateway_reload(struct gw_gateway *gw, struct gw_reload_result *res)
{
    memset(res, 0, sizeof *res);
    pthread_mutex_lock(&gw->reload_lock);
    int rc = reload_locked(gw, res);
    if (rc < 0) {
        struct gw_snap *cur = gw_snap_acquire(gw);
        res->generation = cur ? cur->generation : 0;
        gw_snap_release(cur);
    }
    pthread_mutex_unlock(&gw->reload_lock);
    if (rc < 0) {
        GW_ERROR("config reload refused, nothing changed (generation %" PRIu64 " still serves):"
                 " %s",
                 res->generation, res->error);
        return rc;
    }
    GW_INFO("config reloaded from %s: generation %" PRIu64 " serves new requests", gw->config_path,
            res->generation);
    if (res->restart[0])
        GW_WARN("config reload: %s changed and needs a restart (not applied)", res->restart);
    return 0;
}
