/* main - command line, startup, signals, shutdown. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "admin/admin.h"
#include "admin/keys_cli.h"
#include "catalog/catalog.h"
#include "config.h"
#include "front/responses.h"
#include "guard/guard.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "net/http.h"
#include "net/upstream.h"
#include "obs/metrics.h"
#include "obs/otel.h"
#include "obs/otlp.h"
#include "plugin/plugin_loader.h"
#include "proxy/accept.h"
#include "proxy/authfail.h"
#include "proxy/cancel.h"
#include "proxy/gateway.h"
#include "proxy/reload.h"
#include "proxy/snapshot.h"
#include "store/counters.h"
#include "store/store.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: aigw [options]\n"
            "       aigw [--config FILE] [--state-dir DIR] keys create|list|show|update|rotate|"
            "revoke ...\n"
            "  --config FILE         JSON config file (comments and ${VAR} allowed)\n"
            "  --listen HOST:PORT    address to serve on (default 127.0.0.1:8080)\n"
            "  --plugin-dir DIR      provider plugin directory (also AIGW_PLUGIN_DIR)\n"
            "  --log-level LEVEL     error, warn, info or debug\n"
            "  --port-file FILE      write the bound port here once listening\n"
            "  --state-dir DIR       where the state store lives (keys, ledger, request log)\n"
            "  --check-config        validate the configuration and exit\n"
            "  --list-providers      print the providers and exit (--format=json for JSON)\n"
            "  --version             print the version and exit\n"
            "  --help                this text\n");
}

static const char *plugin_dir(const struct gw_config *cfg, const char *flag)
{
    if (flag)
        return flag;
    const char *env = getenv("AIGW_PLUGIN_DIR");
    if (env && *env)
        return env;
    if (cfg->plugin_dir[0])
        return cfg->plugin_dir;
    return AIGW_PLUGIN_DIR;
}

static int list_providers(const struct gw_plugins *ps, int json)
{
    char caps[256];
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < ps->n; i++) {
            const struct gw_plugin *p = ps->items[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", p->desc.name);
            cJSON_AddStringToObject(o, "vkey", p->desc.vkey);
            cJSON_AddStringToObject(o, "version", p->desc.version ? p->desc.version : "");
            cJSON_AddStringToObject(o, "status", p->active ? "active" : "inactive");
            cJSON_AddStringToObject(o, "reason", p->active ? "" : p->why);
            cJSON *miss = cJSON_AddArrayToObject(o, "missing");
            char tmp[sizeof p->missing];
            snprintf(tmp, sizeof tmp, "%s", p->missing);
            char *save = NULL;
            for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
                cJSON_AddItemToArray(miss, cJSON_CreateString(t));
            cJSON *c = cJSON_AddArrayToObject(o, "capabilities");
            gw_caps_string(p->desc.capabilities, caps, sizeof caps);
            save = NULL;
            for (char *t = strtok_r(caps, ",", &save); t; t = strtok_r(NULL, ",", &save))
                cJSON_AddItemToArray(c, cJSON_CreateString(t));
            cJSON *env = cJSON_AddArrayToObject(o, "env");
            for (const struct aigw_env_var *e = p->desc.env; e && e->name; e++) {
                cJSON *v = cJSON_CreateObject();
                cJSON_AddStringToObject(v, "name", e->name);
                cJSON_AddBoolToObject(v, "required", (e->flags & AIGW_ENV_REQUIRED) != 0);
                cJSON_AddBoolToObject(v, "secret", (e->flags & AIGW_ENV_SECRET) != 0);
                cJSON_AddBoolToObject(v, "any_of", (e->flags & AIGW_ENV_ANY_OF) != 0);
                cJSON_AddBoolToObject(v, "set", getenv(e->name) && *getenv(e->name));
                cJSON_AddStringToObject(v, "help", e->help ? e->help : "");
                cJSON_AddItemToArray(env, v);
            }
            cJSON_AddItemToArray(arr, o);
        }
        char *s = cJSON_Print(arr);
        cJSON_Delete(arr);
        if (!s)
            return 1;
        printf("%s\n", s);
        free(s);
        return 0;
    }
    printf("%-16s %-14s %-9s %-40s %s\n", "PROVIDER", "VKEY", "STATUS", "MISSING", "CAPABILITIES");
    for (size_t i = 0; i < ps->n; i++) {
        const struct gw_plugin *p = ps->items[i];
        gw_caps_string(p->desc.capabilities, caps, sizeof caps);
        printf("%-16s %-14s %-9s %-40s %s\n", p->desc.name, p->desc.vkey,
               p->active ? "active" : "inactive", p->missing[0] ? p->missing : "-", caps);
    }
    return 0;
}

static void store_op(void *ud, const char *backend, const char *op, int64_t us, const char *error)
{
    (void)ud;
    gw_metrics_store(backend, op, us, error);
}

static void store_drop(void *ud, const char *what, int64_t n)
{
    (void)ud;
    gw_metrics_log_dropped(what, n);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"listen", required_argument, NULL, 'l'},
        {"plugin-dir", required_argument, NULL, 'p'},
        {"log-level", required_argument, NULL, 'L'},
        {"port-file", required_argument, NULL, 'P'},
        {"state-dir", required_argument, NULL, 'S'},
        {"check-config", no_argument, NULL, 'C'},
        {"list-providers", no_argument, NULL, 'x'},
        {"format", required_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *listen = NULL, *pdir = NULL, *level = NULL;
    const char *port_file = NULL, *format = "table", *state_dir = NULL;
    int check = 0, list = 0, c;
    /* "+": options stop at the first word, so `aigw keys create --name x` keeps its flags. */
    while ((c = getopt_long(argc, argv, "+c:l:p:L:P:S:Cxf:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'l': listen = optarg; break;
        case 'p': pdir = optarg; break;
        case 'L': level = optarg; break;
        case 'P': port_file = optarg; break;
        case 'S': state_dir = optarg; break;
        case 'C': check = 1; break;
        case 'x': list = 1; break;
        case 'f': format = optarg; break;
        case 'V': printf("aigw %s (plugin ABI %d.%d)\n", GW_VERSION, AIGW_ABI_MAJOR, AIGW_ABI_MINOR); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int keys_cmd = optind < argc && !strcmp(argv[optind], "keys");
    if (optind < argc && !keys_cmd) {
        fprintf(stderr, "aigw: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "aigw: --format must be table or json\n");
        return 2;
    }
    struct gw_config cfg;
    char err[1024];
    gw_config_defaults(&cfg);
    if (config_path && gw_config_load(&cfg, config_path, err, sizeof err) < 0) {
        fprintf(stderr, "aigw: config error: %s\n", err);
        return 2;
    }
    if (state_dir && snprintf(cfg.state_dir, sizeof cfg.state_dir, "%s", state_dir) >=
                         (int)sizeof cfg.state_dir) {
        fprintf(stderr, "aigw: --state-dir: too long\n");
        gw_config_free(&cfg);
        return 2;
    }
    char store_url[1100];
    if (gw_config_store_url(&cfg, store_url, sizeof store_url) < 0) {
        fprintf(stderr, "aigw: the store URL is too long\n");
        gw_config_free(&cfg);
        return 2;
    }
    if (keys_cmd) {
        int rc = gw_keys_cli(argc - optind, argv + optind, store_url);
        gw_config_free(&cfg);
        return rc;
    }
    gw_authfail_configure(cfg.auth_max_failures, cfg.auth_failure_window_s);
    if (gw_admin_configure(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "aigw: config error: %s\n", err);
        gw_config_free(&cfg);
        return 2;
    }
    if (listen && gw_config_set_listen(&cfg, listen, err, sizeof err) < 0) {
        fprintf(stderr, "aigw: %s\n", err);
        return 2;
    }
    if (level) {
        int l = gw_log_level_from_string(level);
        if (l < 0) {
            fprintf(stderr, "aigw: --log-level must be error, warn, info or debug\n");
            return 2;
        }
        cfg.log_level = l;
    }
    if (gw_log_init(list ? AIGW_LOG_ERROR : cfg.log_level, cfg.log_file, cfg.access_log) < 0) {
        fprintf(stderr, "aigw: cannot open the log file\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct gw_plugins plugins;
    const char *dir = plugin_dir(&cfg, pdir);
    if (gw_plugins_load(&plugins, dir) < 0 && !list)
        GW_WARN("no plugins loaded from %s", dir);
    if (list) {
        int rc = list_providers(&plugins, !strcmp(format, "json"));
        gw_plugins_unload(&plugins);
        gw_config_free(&cfg);
        curl_global_cleanup();
        return rc;
    }
    struct gw_catalog *cat = NULL;
    const char *cpath = cfg.catalog_path[0] ? cfg.catalog_path : NULL;
    int64_t t0 = gw_now_ms();
    if (gw_catalog_load(cpath, &cat, err, sizeof err) < 0) {
        GW_WARN("catalog not loaded (%s); costs and /v1/models will be empty", err);
        cat = gw_catalog_new();
    } else {
        GW_INFO("catalog: %zu models loaded in %" PRId64 " ms", gw_catalog_size(cat),
                gw_now_ms() - t0);
    }
    int exit_code = 0;
    /* Where the guardrails are loaded from (by the gateway, and by every reload). */
    char gdir_buf[4200];
    const char *gdir = gw_guard_dir(cfg.guard_dir, dir, gdir_buf, sizeof gdir_buf);
    if (cat && cfg.catalog_overrides &&
        gw_catalog_merge(cat, cfg.catalog_overrides, cfg.source, err, sizeof err) < 0) {
        fprintf(stderr, "aigw: config error: %s\n", err);
        exit_code = 2;
        goto out_plugins;
    }
    /* Signals are taken synchronously by this thread; every thread started below inherits
     * the mask, so none of them is interrupted. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    gw_metrics_init(cat, cfg.metrics_max_models);
    /* Tracing: judged by --check-config too; started before any worker exists (requests read
     * the tracer without a lock), stopped after they are gone. */
    struct gw_otel_config oc;
    gw_otel_config_init(&oc);
    int orc = gw_otel_config_parse(&oc, cJSON_GetObjectItem(cfg.root, "otel"), NULL, err,
                                   sizeof err);
    if (orc < 0) {
        int in_file = !strncmp(err, "otel", 4) && cfg.source[0];
        fprintf(stderr, "aigw: config error: %s%s%s\n", in_file ? cfg.source : "",
                in_file ? ": " : "", err);
    } else if (!check && (orc = gw_otel_start(&oc)) < 0) {
        fprintf(stderr, "aigw: cannot start the trace exporter (%d)\n", orc);
    } else if (oc.enabled && !check) {
        char u[256];
        gw_otlp_url_for_log(oc.url, u, sizeof u); /* never the collector's credentials */
        GW_INFO("tracing: spans to %s, sample ratio %g", u, oc.sample_ratio);
    }
    gw_otel_config_free(&oc);
    if (orc < 0) {
        exit_code = 2;
        goto out_plugins;
    }
    struct gw_gateway gw;
    if (gw_gateway_init(&gw, &cfg, &plugins, cat, gdir, err, sizeof err) < 0) {
        fprintf(stderr, "aigw: config error: %s%s%s\n", cfg.source[0] ? cfg.source : "",
                cfg.source[0] ? ": " : "", err);
        exit_code = 2;
        goto out_plugins;
    }
    /* What a reload (SIGHUP, POST /admin/config/reload) re-reads and re-applies. */
    if (config_path)
        gw_strlcpy(gw.config_path, config_path, sizeof gw.config_path);
    gw_strlcpy(gw.plugin_dir, dir, sizeof gw.plugin_dir);
    gw.cli_log_level = level ? cfg.log_level : -1;
    if (check) {
        printf("aigw: configuration OK (%zu providers active)\n",
               gw_plugins_active_count(&plugins));
        gw_gateway_free(&gw);
        goto out_plugins;
    }
    /* The state store and the counters: a gateway that cannot keep its keys and ledger
     * refuses to start rather than serve without them. */
    struct gw_store_opts so = {
        .log_bodies = cfg.log_bodies,
        .log_retention_days = cfg.log_retention_days,
        .log_queue_rows = cfg.log_queue_rows,
        .on_op = store_op,
        .on_drop = store_drop,
    };
    /* Ledger and log rows are spooled on this machine's disk until committed, so that a
     * killed gateway loses none: beside a SQLite file, or in the state directory. */
    char spool[1300];
    if (!strncmp(store_url, "sqlite:", 7))
        snprintf(spool, sizeof spool, "%s-spool",
                 store_url + 7 + (strncmp(store_url + 7, "//", 2) ? 0 : 2));
    else
        snprintf(spool, sizeof spool, "%s/postgres-spool",
                 cfg.state_dir[0] ? cfg.state_dir : AIGW_STATE_DIR);
    so.spool_prefix = spool;
    struct gw_store *store = gw_store_open(store_url, &so, err, sizeof err);
    if (!store) {
        GW_ERROR("cannot open the state store%s%s: %s",
                 strncmp(store_url, "sqlite:", 7) ? "" : " ",
                 strncmp(store_url, "sqlite:", 7) ? "" : store_url + 7, err);
        gw_gateway_free(&gw);
        exit_code = 1;
        goto out_plugins;
    }
    struct gw_counters_cfg cc = {
        .redis_url = cfg.redis_url[0] ? cfg.redis_url : NULL,
        .redis_timeout_ms = cfg.redis_timeout_ms,
        .replicas = (int)cfg.redis_replicas,
        .budget_fail_open = cfg.budget_fail_open,
        .reservation_ttl_ms = cfg.lease_seconds * 1000,
    };
    struct gw_counters_shared *counters = NULL;
    if (gw_counters_shared_new(&cc, &counters, err, sizeof err) < 0) {
        GW_ERROR("redis.url: %s", err);
        gw_store_close(store);
        gw_gateway_free(&gw);
        exit_code = 1;
        goto out_plugins;
    }
    gw.store = store;
    gw.counters = counters;
    gw_responses_use_store(store);
    GW_INFO("state store: %s; counters: %s", gw_store_backend(store),
            gw_counters_shared_redis(counters) ? "shared through Redis" : "in process");
    struct gw_front *front = NULL;
    if (gw_front_start(&front, &gw, err, sizeof err) < 0) {
        GW_ERROR("%s", err);
        gw_responses_use_store(NULL);
        gw_counters_shared_free(counters);
        gw_store_close(store);
        gw_gateway_free(&gw);
        exit_code = 1;
        goto out_plugins;
    }
    struct gw_http *http = gw_front_http(front);
    GW_INFO("aigw %s listening on %s:%d, %zu of %zu providers active", GW_VERSION,
            cfg.listen_host, gw_http_port(http), gw_plugins_active_count(&plugins), plugins.n);
    if (port_file) {
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        /* Written then renamed so a reader never sees a half-written port. */
        if (f) {
            fprintf(f, "%d\n", gw_http_port(http));
            fclose(f);
            rename(tmp, port_file);
        }
    }
    int sig = 0;
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            /* This is a normal thread (sigwait, no handler): the reload runs right here. A
             * bad file changes nothing; gw_gateway_reload logs why. */
            GW_INFO("SIGHUP: %s", config_path
                                      ? "reloading the configuration and reopening log files"
                                      : "no config file to reload; reopening log files");
            struct gw_reload_result rr;
            if (config_path)
                gw_gateway_reload(&gw, &rr);
            gw_log_reopen();
            continue;
        }
        break;
    }
    struct gw_snap *last = gw_snap_acquire(&gw); /* shutdown.grace_ms as last reloaded */
    int64_t grace_ms = last->cfg.shutdown_grace_ms;
    gw_snap_release(last);
    GW_INFO("signal %d: draining in-flight requests (up to %" PRId64 " ms)", sig, grace_ms);
    atomic_store(&gw.shutting_down, 1);
    gw_http_quiesce(http);
    int64_t grace_end = gw_now_ms() + grace_ms;
    int64_t left = gw_gateway_drain(&gw, grace_end);
    if (left)
        GW_WARN("%" PRId64 " requests still in flight after the grace period; cancelling", left);
    /* Cancel what is left (the workers' engines, then the shared one): their streams end with
     * an error event, answered by the workers, which run until the front stops. Only then
     * is the gateway (router, engine, drain lock) freed: every request has let go of it. */
    gw_http_cancel_transfers(http);
    gw_upstream_cancel_all(gw.upstream, 5000);
    gw_gateway_drain(&gw, gw_now_ms() + 2000);
    /* The requests cancelled above asked their providers to stop the jobs they had started
     * (proxy/cancel.h): best effort, while the engines still run, within what is left of the
     * grace and 2 s at most. */
    int64_t cancel_ms = grace_end - gw_now_ms();
    if (gw_cancel_drain(gw_now_ms() + (cancel_ms < 500    ? 500
                                       : cancel_ms > 2000 ? 2000
                                                          : cancel_ms)))
        GW_WARN("%d upstream cancel requests still in flight at shutdown", gw_cancel_inflight());
    gw_front_stop(front); /* the workers' counters go with their loops */
    gw_counters_shared_free(counters);
    gw_gateway_free(&gw);
    /* Every span is submitted now (the workers are gone): what is queued goes out within
     * what is left of the grace, 5 s at most. */
    int64_t otel_ms = grace_end - gw_now_ms();
    gw_otel_stop(otel_ms < 0 ? 0 : otel_ms > 5000 ? 5000 : otel_ms);
    /* Last: every ledger and log row of the requests above is queued by now. */
    gw_responses_use_store(NULL);
    if (gw_store_flush(store, 5000) < 0)
        GW_WARN("the state store did not take every queued write before the deadline");
    gw_store_close(store);
    GW_INFO("stopped");
out_plugins:
    gw_otel_stop(0); /* an early exit: nothing to send */
    gw_metrics_free();
    gw_catalog_free(cat);
    gw_plugins_unload(&plugins);
    gw_config_free(&cfg);
    gw_log_close();
    curl_global_cleanup();
    return exit_code;
}
