/* config - defaults, file, flags (see config.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/jsonc.h"
#include "lib/log.h"
#include "lib/redact.h"

#define CONFIG_FILE_CAP (4u << 20)

static const struct gw_config_key keys[] = {
    {"listen", "string", "127.0.0.1:8080", "address and port to serve the OpenAI API on"},
    {"max_body_bytes", "integer", "33554432", "largest request body accepted (413 above)"},
    {"max_body_bytes_total", "integer", "1073741824",
     "request bodies held at once, arriving or unparsed (503 above)"},
    {"max_connections", "integer", "16384", "simultaneous client connections"},
    {"threads", "integer", "0", "HTTP worker threads; 0 means one per core"},
    {"timeouts", "object", "", "upstream deadlines"},
    {"timeouts.connect_ms", "integer", "10000", "connecting to a provider"},
    {"timeouts.first_byte_ms", "integer", "120000",
     "from sending to a stream's first byte (whole answers: request_ms)"},
    {"timeouts.idle_ms", "integer", "300000", "longest silence between two response bytes"},
    {"timeouts.first_byte_total_ms", "integer", "180000",
     "a stream's whole wait for its answer to start, across every attempt; 0 off"},
    {"timeouts.request_ms", "integer", "600000", "whole non-streaming request (streams have none)"},
    {"stream", "object", "", "streaming relay settings"},
    {"stream.heartbeat_ms", "integer", "15000",
     "SSE comment sent on a stream idle this long; 0 off"},
    {"stream.commit_ms", "integer", "10000",
     "a started stream with no content yet sends its headers and start after this long; 0 off"},
    {"stream.buffer_bytes", "integer", "262144",
     "per-stream relay buffer; a slower client pauses the upstream"},
    {"shutdown", "object", "", "graceful shutdown"},
    {"shutdown.grace_ms", "integer", "30000", "how long SIGTERM waits for in-flight requests"},
    {"log", "object", "", "logging"},
    {"log.level", "string", "info", "error, warn, info or debug"},
    {"log.file", "string", "", "diagnostic log file (stderr when empty); reopened on SIGHUP"},
    {"log.access_log", "string", "",
     "JSON access log file (the diagnostic log when empty; \"off\": none)"},
    {"log.requests", "boolean", "true", "write a request-log row for every request"},
    {"log.bodies", "boolean", "false", "keep request and response bodies in the request log"},
    {"log.retention_days", "integer", "30", "request-log rows kept this many days; 0: forever"},
    {"log.queue_rows", "integer", "10000",
     "request-log rows waiting for the writer; when full the oldest are dropped"},
    {"state_dir", "string", "", "directory of aigw's state; empty: the installed one"},
    {"store", "object", "", "the state store: gateway keys, spend ledger, request log"},
    {"store.url", "string", "", "sqlite:PATH or a postgres: URL; empty: a file in state_dir"},
    {"plugin_dir", "string", "", "directory of provider plugins (default: the installed one)"},
    {"catalog", "object", "", "model catalog"},
    {"catalog.path", "string", "", "catalog file (default: the installed models.json)"},
    {"catalog.overrides", "array", "[]", "entries that add to or replace catalog entries"},
    {"routing", "object", "", "routing strategy, targets, aliases, retries (see ROUTING)"},
    {"guardrails", "array", "[]",
     "guard plugins run on requests and answers, in order (see GUARDRAILS)"},
    {"guard_dir", "string", "",
     "directory of guard plugins (default: guards/ in the plugin directory)"},
    {"auth", "object", "", "client authentication"},
    {"auth.api_keys", "array", "[]", "gateway keys clients must send as Bearer; empty: no auth"},
    {"auth.required", "boolean", "false",
     "every inference request needs a key, even before the store holds one"},
    {"auth.max_failures", "integer", "10",
     "wrong keys per client address per window before it gets 429; 0 no limit"},
    {"auth.failure_window_s", "integer", "60", "the window auth.max_failures counts in"},
    {"admin", "object", "", "the admin API under /admin/ (see ADMIN API in aigw(8))"},
    {"admin.key", "string", "", "admin bearer token (else AIGW_ADMIN_KEY); none: no admin API"},
    {"admin.allow", "array", "[]", "client addresses (CIDR) that may call /admin/; empty: any"},
    {"limits", "object", "", "how rate limits and budgets are enforced"},
    {"limits.budget_fail_open", "boolean", "false",
     "Redis down: admit budgeted keys on a local share (else 503)"},
    {"limits.max_reserve_tokens", "integer", "4096",
     "output tokens reserved for a request without max_tokens, and the most reserved"},
    {"limits.lease_seconds", "integer", "90",
     "a budget reservation's lease, renewed every third of it (for tests and operators)"},
    {"metrics", "object", "", "Prometheus metrics"},
    {"metrics.enabled", "boolean", "true", "serve GET /metrics"},
    {"metrics.listen", "string", "", "serve metrics on this address instead of the main port"},
    {"metrics.token", "string", "", "bearer token required to scrape /metrics"},
    {"metrics.max_models", "integer", "200", "distinct model labels before folding into \"other\""},
    {"otel", "object", "", "OpenTelemetry tracing (see TRACING); off without an endpoint"},
    {"otel.enabled", "boolean", "", "false: no tracing; unset: on when an endpoint is known"},
    {"otel.endpoint", "string", "", "collector OTLP/HTTP base URL; empty: none (or the variable)"},
    {"otel.headers", "object", "", "extra headers on every export POST: name -> value (secrets)"},
    {"otel.sample_ratio", "number", "1", "share of new traces recorded, 0 to 1"},
    {"otel.service_name", "string", "aigw", "the service.name resource attribute"},
    {"otel.capture_content", "boolean", "false", "record messages on attempt spans (redacted)"},
    {"otel.content_max_bytes", "integer", "16384", "cap on each captured content attribute"},
    {"otel.queue_size", "integer", "2048", "spans waiting to be sent; more are dropped"},
    {"otel.batch_size", "integer", "512", "spans per export POST"},
    {"otel.batch_interval_ms", "integer", "5000", "longest wait before a partial batch is sent"},
    {"otel.timeout_ms", "integer", "10000", "deadline of one export POST"},
    {"redis", "object", "", "the Redis a fleet of gateways shares"},
    {"redis.url", "string", "", "the shared Redis, a redis: URL; empty: none"},
    {"redis.timeout_ms", "integer", "50", "deadline of one admission; later: decided locally"},
    {"redis.replicas", "integer", "0", "replicas for the fallback share of a limit; 0: observed"},
    {"cache", "object", "", "the exact response cache (see RESPONSE CACHE)"},
    {"cache.enabled", "boolean", "false", "answer a request seen before from the cache"},
    {"cache.ttl_s", "integer", "3600", "how long an answer is kept, in seconds"},
    {"cache.max_bytes", "integer", "67108864", "memory the in-memory cache holds at most"},
    {"cache.max_entry_bytes", "integer", "1048576", "the largest answer kept"},
    {"cache.redis", "boolean", "false",
     "keep answers in the Redis of redis.url, for every replica"},
    {"cache.redis_timeout_ms", "integer", "50", "a Redis lookup not answered by then is a miss"},
    {"cache.scope", "string", "key", "\"key\": one cache per gateway key; \"global\": one for all"},
    {"cache.endpoints", "array",
     "[\"chat\", \"completions\", \"messages\", \"responses\", \"embeddings\"]",
     "the endpoints whose answers are cached"},
    {NULL, NULL, NULL, NULL},
};

static const cJSON *get(const cJSON *root, const char *dotted);

const cJSON *gw_config_get(const cJSON *root, const char *dotted)
{
    return root ? get(root, dotted) : NULL;
}

const struct gw_config_key *gw_config_keys(void)
{
    return keys;
}

void gw_config_defaults(struct gw_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = 8080;
    /* Anthropic takes Messages bodies up to 32 MB (images and PDFs inline): less would refuse
     * what the provider accepts. */
    c->max_body_bytes = 32 * 1024 * 1024;
    c->max_body_bytes_total = (int64_t)1 << 30;
    c->max_connections = 16384;
    c->threads = 0;
    c->connect_timeout_ms = 10000;
    c->first_byte_timeout_ms = 120000;
    c->first_byte_total_ms = 180000;
    /* A reasoning model can be silent for minutes inside a healthy stream; Codex itself waits
     * 5 minutes (its stream_idle_timeout_ms). Clients get heartbeats meanwhile. */
    c->idle_timeout_ms = 300000;
    c->request_timeout_ms = 600000;
    c->heartbeat_ms = 15000;
    c->commit_ms = 10000;
    c->stream_buffer_bytes = 256 * 1024;
    c->shutdown_grace_ms = 30000;
    c->log_level = AIGW_LOG_INFO;
    c->metrics_enabled = 1;
    c->auth_max_failures = 10;
    c->auth_failure_window_s = 60;
    c->metrics_max_models = 200;
    c->log_retention_days = 30;
    c->log_queue_rows = 10000;
    c->log_requests = 1;
    c->redis_timeout_ms = 50;
    c->max_reserve_tokens = 4096;
    c->lease_seconds = 90;
}

int gw_config_store_url(const struct gw_config *c, char *out, size_t size)
{
    int n = c->store_url[0] ? snprintf(out, size, "%s", c->store_url)
                            : snprintf(out, size, "sqlite:%s/aigw.db",
                                       c->state_dir[0] ? c->state_dir : AIGW_STATE_DIR);
    return n < 0 || (size_t)n >= size ? AIGW_ETOOBIG : 0;
}

/* The password of a "scheme://user:password@host/..." URL, registered as a secret so that no
 * log line or error body can show it. */
static void redact_url_password(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return;
    p += 3;
    const char *at = strchr(p, '@'), *colon = strchr(p, ':');
    if (!at || !colon || colon > at)
        return;
    char pw[256];
    size_t n = (size_t)(at - colon - 1);
    if (n >= sizeof pw)
        n = sizeof pw - 1;
    memcpy(pw, colon + 1, n);
    pw[n] = '\0';
    gw_redact_register(pw);
}

void gw_config_free(struct gw_config *c)
{
    cJSON_Delete(c->root);
    c->root = NULL;
    c->catalog_overrides = c->routing = c->auth_keys = c->cache = c->guardrails =
        c->admin_allow = NULL;
}

int gw_config_dup(struct gw_config *dst, const struct gw_config *src)
{
    *dst = *src;
    dst->root = NULL;
    dst->catalog_overrides = dst->routing = dst->auth_keys = dst->cache = dst->guardrails =
        dst->admin_allow = NULL;
    if (!src->root)
        return 0;
    if (!(dst->root = cJSON_Duplicate(src->root, 1)))
        return AIGW_ENOMEM;
    dst->catalog_overrides = (cJSON *)get(dst->root, "catalog.overrides");
    dst->routing = (cJSON *)get(dst->root, "routing");
    dst->auth_keys = (cJSON *)get(dst->root, "auth.api_keys");
    dst->admin_allow = (cJSON *)get(dst->root, "admin.allow");
    dst->cache = (cJSON *)get(dst->root, "cache");
    dst->guardrails = (cJSON *)get(dst->root, "guardrails");
    return 0;
}

int gw_config_set_listen(struct gw_config *c, const char *s, char *err, size_t errsize)
{
    const char *colon = strrchr(s, ':');
    if (!colon) {
        snprintf(err, errsize, "listen: '%s' is not host:port", s);
        return AIGW_EINVAL;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535) {
        snprintf(err, errsize, "listen: bad port in '%s'", s);
        return AIGW_EINVAL;
    }
    size_t hl = (size_t)(colon - s);
    const char *h = s;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof c->listen_host) {
        snprintf(err, errsize, "listen: host too long");
        return AIGW_EINVAL;
    }
    if (hl == 0) {
        snprintf(c->listen_host, sizeof c->listen_host, "0.0.0.0");
    } else {
        memcpy(c->listen_host, h, hl);
        c->listen_host[hl] = '\0';
    }
    c->listen_port = (int)port;
    return 0;
}

static const struct gw_config_key *find_key(const char *dotted)
{
    for (const struct gw_config_key *k = keys; k->key; k++)
        if (strcmp(k->key, dotted) == 0)
            return k;
    return NULL;
}

static int type_ok(const cJSON *v, const char *type)
{
    if (!strcmp(type, "string"))
        return cJSON_IsString(v);
    if (!strcmp(type, "integer"))
        /* range first: casting a double past int64_t's range is undefined */
        return cJSON_IsNumber(v) && v->valuedouble > -9.2e18 && v->valuedouble < 9.2e18 &&
               v->valuedouble == (double)(int64_t)v->valuedouble;
    if (!strcmp(type, "number"))
        return cJSON_IsNumber(v);
    if (!strcmp(type, "boolean"))
        return cJSON_IsBool(v);
    if (!strcmp(type, "object"))
        return cJSON_IsObject(v);
    if (!strcmp(type, "array"))
        return cJSON_IsArray(v) || (cJSON_IsObject(v));
    return 0;
}

/* Checks every key of obj against the table; `prefix` is the dotted path of obj. Subtrees
 * whose owner validates them (routing, catalog.overrides, otel.headers) are not descended
 * into. */
static int check_keys(const cJSON *obj, const char *prefix, const char *file, char *err,
                      size_t errsize)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, obj)
    {
        char dotted[256];
        snprintf(dotted, sizeof dotted, "%s%s%s", prefix, *prefix ? "." : "", it->string);
        const struct gw_config_key *k = find_key(dotted);
        if (!k) {
            snprintf(err, errsize, "%s: %s: unknown key", file, dotted);
            return AIGW_EINVAL;
        }
        if (!type_ok(it, k->type)) {
            snprintf(err, errsize, "%s: %s: expected %s", file, dotted, k->type);
            return AIGW_EINVAL;
        }
        if (cJSON_IsObject(it) && !strcmp(k->type, "object") && strcmp(dotted, "routing") &&
            strcmp(dotted, "otel.headers")) {
            int rc = check_keys(it, dotted, file, err, errsize);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static const cJSON *get(const cJSON *root, const char *dotted)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", dotted);
    const cJSON *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

static int get_int(const cJSON *root, const char *key, int64_t min, int64_t max, int64_t *out,
                   const char *file, char *err, size_t errsize)
{
    const cJSON *v = get(root, key);
    if (!v)
        return 0;
    double d = v->valuedouble;
    if (d < (double)min || d > (double)max) {
        snprintf(err, errsize, "%s: %s: must be between %lld and %lld", file, key,
                 (long long)min, (long long)max);
        return AIGW_EINVAL;
    }
    *out = (int64_t)d;
    return 0;
}

static int get_str(const cJSON *root, const char *key, char *out, size_t size, const char *file,
                   char *err, size_t errsize)
{
    const cJSON *v = get(root, key);
    if (!v)
        return 0;
    if (strlen(v->valuestring) >= size) {
        snprintf(err, errsize, "%s: %s: too long", file, key);
        return AIGW_EINVAL;
    }
    snprintf(out, size, "%s", v->valuestring);
    return 0;
}

static int read_file(const char *path, struct gw_buf *b, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
        return AIGW_EINVAL;
    }
    char tmp[16384];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
        rc = gw_buf_append(b, tmp, n);
    fclose(f);
    if (rc)
        snprintf(err, errsize, "%s: file too large", path);
    return rc;
}

int gw_config_load(struct gw_config *c, const char *path, char *err, size_t errsize)
{
    struct gw_buf raw, json;
    gw_buf_init(&raw, CONFIG_FILE_CAP);
    gw_buf_init(&json, CONFIG_FILE_CAP * 2);
    snprintf(c->source, sizeof c->source, "%s", path);
    int rc = read_file(path, &raw, err, errsize);
    char jerr[512];
    if (!rc) {
        rc = gw_jsonc_to_json(raw.ptr ? raw.ptr : "", raw.len, &json, jerr, sizeof jerr);
        if (rc)
            snprintf(err, errsize, "%s: %s", path, jerr);
    }
    cJSON *root = NULL;
    if (!rc) {
        const char *end = NULL;
        root = cJSON_ParseWithLengthOpts(json.ptr, json.len, &end, 0);
        if (!root) {
            snprintf(err, errsize, "%s: not valid JSON near byte %ld", path,
                     end ? (long)(end - json.ptr) : 0L);
            rc = AIGW_EINVAL;
        } else if (!cJSON_IsObject(root)) {
            snprintf(err, errsize, "%s: the top level must be an object", path);
            rc = AIGW_EINVAL;
        }
    }
    gw_buf_free(&raw);
    gw_buf_free(&json);
    if (!rc)
        rc = check_keys(root, "", path, err, errsize);
    int64_t v;
    char lvl[32] = "";
#define INT(key, field, min, max)                                                                  \
    do {                                                                                           \
        v = c->field;                                                                              \
        if (!rc)                                                                                   \
            rc = get_int(root, key, min, max, &v, path, err, errsize);                             \
        c->field = v;                                                                              \
    } while (0)
    INT("max_body_bytes", max_body_bytes, 1024, (int64_t)1 << 30);
    INT("max_body_bytes_total", max_body_bytes_total, 1024, (int64_t)1 << 40);
    INT("max_connections", max_connections, 1, 1000000);
    INT("threads", threads, 0, 1024);
    INT("timeouts.connect_ms", connect_timeout_ms, 1, 3600000);
    INT("timeouts.first_byte_ms", first_byte_timeout_ms, 1, 3600000);
    INT("timeouts.idle_ms", idle_timeout_ms, 1, 3600000);
    INT("timeouts.first_byte_total_ms", first_byte_total_ms, 0, 3600000);
    INT("timeouts.request_ms", request_timeout_ms, 1, 86400000);
    INT("stream.heartbeat_ms", heartbeat_ms, 0, 3600000);
    INT("stream.commit_ms", commit_ms, 0, 3600000);
    INT("stream.buffer_bytes", stream_buffer_bytes, 4096, 64 << 20);
    INT("shutdown.grace_ms", shutdown_grace_ms, 0, 3600000);
    INT("metrics.max_models", metrics_max_models, 1, 100000);
    INT("auth.max_failures", auth_max_failures, 0, 1000000);
    INT("auth.failure_window_s", auth_failure_window_s, 1, 86400);
    INT("log.retention_days", log_retention_days, 0, 36500);
    INT("log.queue_rows", log_queue_rows, 1, 1000000);
    INT("redis.timeout_ms", redis_timeout_ms, 1, 60000);
    INT("redis.replicas", redis_replicas, 0, 10000);
    INT("limits.max_reserve_tokens", max_reserve_tokens, 1, 10000000);
    /* At least 3 s: renewed every second, a Redis round trip always fits; at most a day. */
    INT("limits.lease_seconds", lease_seconds, 3, 86400);
#undef INT
    if (!rc && get(root, "listen")) {
        char lerr[512];
        rc = gw_config_set_listen(c, get(root, "listen")->valuestring, lerr, sizeof lerr);
        if (rc)
            snprintf(err, errsize, "%s: %s", path, lerr);
    }
    if (!rc)
        rc = get_str(root, "log.level", lvl, sizeof lvl, path, err, errsize);
    if (!rc && lvl[0]) {
        int l = gw_log_level_from_string(lvl);
        if (l < 0) {
            snprintf(err, errsize, "%s: log.level: '%s' is not error, warn, info or debug", path,
                     lvl);
            rc = AIGW_EINVAL;
        } else {
            c->log_level = l;
        }
    }
    if (!rc)
        rc = get_str(root, "log.file", c->log_file, sizeof c->log_file, path, err, errsize);
    if (!rc)
        rc = get_str(root, "log.access_log", c->access_log, sizeof c->access_log, path, err,
                     errsize);
    if (!rc)
        rc = get_str(root, "plugin_dir", c->plugin_dir, sizeof c->plugin_dir, path, err, errsize);
    if (!rc)
        rc = get_str(root, "guard_dir", c->guard_dir, sizeof c->guard_dir, path, err, errsize);
    if (!rc && get(root, "guardrails") && !cJSON_IsArray(get(root, "guardrails"))) {
        snprintf(err, errsize, "%s: guardrails: expected array", path);
        rc = AIGW_EINVAL;
    }
    if (!rc)
        rc = get_str(root, "catalog.path", c->catalog_path, sizeof c->catalog_path, path, err,
                     errsize);
    if (!rc)
        rc = get_str(root, "metrics.listen", c->metrics_listen, sizeof c->metrics_listen, path,
                     err, errsize);
    if (!rc)
        rc = get_str(root, "metrics.token", c->metrics_token, sizeof c->metrics_token, path, err,
                     errsize);
    if (!rc)
        rc = get_str(root, "state_dir", c->state_dir, sizeof c->state_dir, path, err, errsize);
    if (!rc)
        rc = get_str(root, "store.url", c->store_url, sizeof c->store_url, path, err, errsize);
    if (!rc && c->store_url[0] && strncmp(c->store_url, "sqlite:", 7) &&
        strncmp(c->store_url, "postgres://", 11) && strncmp(c->store_url, "postgresql://", 13)) {
        snprintf(err, errsize, "%s: store.url: must start sqlite: or postgres://", path);
        rc = AIGW_EINVAL;
    }
    if (!rc)
        rc = get_str(root, "redis.url", c->redis_url, sizeof c->redis_url, path, err, errsize);
    if (!rc)
        rc = get_str(root, "admin.key", c->admin_key, sizeof c->admin_key, path, err, errsize);
    if (!rc && c->admin_key[0] && strlen(c->admin_key) < 16) {
        snprintf(err, errsize, "%s: admin.key: must be at least 16 characters", path);
        rc = AIGW_EINVAL;
    }
    if (!rc && get(root, "auth.required"))
        c->auth_required = cJSON_IsTrue(get(root, "auth.required"));
    if (!rc && get(root, "limits.budget_fail_open"))
        c->budget_fail_open = cJSON_IsTrue(get(root, "limits.budget_fail_open"));
    if (!rc && get(root, "log.requests"))
        c->log_requests = cJSON_IsTrue(get(root, "log.requests"));
    if (!rc && get(root, "log.bodies"))
        c->log_bodies = cJSON_IsTrue(get(root, "log.bodies"));
    if (!rc && get(root, "metrics.enabled"))
        c->metrics_enabled = cJSON_IsTrue(get(root, "metrics.enabled"));
    if (!rc) {
        c->catalog_overrides = (cJSON *)get(root, "catalog.overrides");
        c->routing = (cJSON *)get(root, "routing");
        c->auth_keys = (cJSON *)get(root, "auth.api_keys");
        c->admin_allow = (cJSON *)get(root, "admin.allow");
        c->cache = (cJSON *)get(root, "cache"); /* validated by the cache (cache/cache.c) */
        c->guardrails = (cJSON *)get(root, "guardrails");
        const cJSON *k;
        cJSON_ArrayForEach(k, c->auth_keys)
        {
            if (!cJSON_IsString(k) || strlen(k->valuestring) < 8) {
                snprintf(err, errsize, "%s: auth.api_keys: every key must be a string of 8+ chars",
                         path);
                rc = AIGW_EINVAL;
                break;
            }
        }
    }
    if (rc) {
        cJSON_Delete(root);
        c->catalog_overrides = c->routing = c->auth_keys = c->cache = c->guardrails =
            c->admin_allow = NULL;
        return rc;
    }
    /* Gateway keys are secrets like provider keys: never in a log line or an error body. */
    const cJSON *k;
    cJSON_ArrayForEach(k, c->auth_keys)
    {
        gw_redact_register(k->valuestring);
    }
    gw_redact_register(c->metrics_token[0] ? c->metrics_token : NULL);
    redact_url_password(c->store_url);
    redact_url_password(c->redis_url);
    gw_redact_register(c->admin_key[0] ? c->admin_key : NULL);
    cJSON_Delete(c->root);
    c->root = root;
    return 0;
}
