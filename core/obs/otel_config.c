/* otel_config - the `otel` config object and the OTEL_* variables (see otel.h). */
#include "obs/otel.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"
#include "lib/redact.h"

#define HEADER_VALUE_MAX 8192

void gw_otel_config_init(struct gw_otel_config *c)
{
    memset(c, 0, sizeof *c);
    gw_strlcpy(c->service_name, "aigw", sizeof c->service_name);
    c->sample_ratio = 1.0;
    c->content_max_bytes = GW_OTEL_CONTENT_CAP_DEFAULT;
    /* The OpenTelemetry SDKs' batch span processor defaults. */
    c->queue_size = 2048;
    c->batch_size = 512;
    c->batch_interval_ms = 5000;
    c->timeout_ms = 10000;
}

void gw_otel_config_free(struct gw_otel_config *c)
{
    for (int i = 0; i < c->nheaders; i++)
        free(c->headers[i]);
    c->nheaders = 0;
}

static int fail(char *err, size_t errsize, const char *what, const char *why)
{
    snprintf(err, errsize, "%s: %s", what, why);
    return AIGW_EINVAL;
}

/* An RFC 9110 token. */
static int token_ok(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c))))
            return 0;
    }
    return 1;
}

/* Adds "Name: value" unless a header of that name is already there (the file's come first
 * and win). */
static int add_header(struct gw_otel_config *c, const char *name, size_t nn, const char *value,
                      size_t vn, const char *what, char *err, size_t errsize)
{
    if (!token_ok(name, nn))
        return fail(err, errsize, what, "a header name is not an HTTP token");
    for (size_t i = 0; i < vn; i++)
        if ((unsigned char)value[i] < 0x20 && value[i] != '\t')
            return fail(err, errsize, what, "a header value holds a control character");
    if (vn > HEADER_VALUE_MAX)
        return fail(err, errsize, what, "a header value is longer than 8192 bytes");
    for (int i = 0; i < c->nheaders; i++)
        if (!strncasecmp(c->headers[i], name, nn) && c->headers[i][nn] == ':')
            return 0;
    if (c->nheaders == GW_OTEL_MAX_HEADERS)
        return fail(err, errsize, what, "more than 32 headers");
    char *h = malloc(nn + vn + 3);
    if (!h)
        return AIGW_ENOMEM;
    memcpy(h, name, nn);
    memcpy(h + nn, ": ", 2);
    memcpy(h + nn + 2, value, vn);
    h[nn + 2 + vn] = '\0';
    c->headers[c->nheaders++] = h;
    /* Collector headers are credentials (API keys, basic auth): never in a log line. */
    char *v = strndup(value, vn);
    gw_redact_register(v);
    free(v);
    return 0;
}

static int pct_decode(const char *s, size_t n, char *out, size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
            return -1;
        char hx[3] = {s[i + 1], s[i + 2], 0};
        out[o++] = (char)strtol(hx, NULL, 16);
        i += 2;
    }
    *outn = o;
    return 0;
}

/* OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2", each part trimmed, both sides percent-decoded. */
static int env_headers(struct gw_otel_config *c, const char *var, const char *s, char *err,
                       size_t errsize)
{
    size_t n = strlen(s);
    char *buf = malloc(n + 1), *key = malloc(n + 1);
    if (!buf || !key) {
        free(buf);
        free(key);
        return AIGW_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i <= n && !rc;) {
        size_t end = i;
        while (end < n && s[end] != ',')
            end++;
        size_t a = i, b = end;
        while (a < b && isspace((unsigned char)s[a]))
            a++;
        while (b > a && isspace((unsigned char)s[b - 1]))
            b--;
        if (a < b) {
            const char *eq = memchr(s + a, '=', b - a);
            size_t ka = a, kb = eq ? (size_t)(eq - s) : b, va = kb + 1, vb = b;
            while (kb > ka && isspace((unsigned char)s[kb - 1]))
                kb--;
            while (va < vb && isspace((unsigned char)s[va]))
                va++;
            size_t kn, vn;
            if (!eq || pct_decode(s + ka, kb - ka, key, &kn) ||
                pct_decode(s + va, vb - va, buf, &vn))
                rc = fail(err, errsize, var, "expected key=value pairs separated by ','");
            else
                rc = add_header(c, key, kn, buf, vn, var, err, errsize);
        }
        i = end + 1;
    }
    free(buf);
    free(key);
    return rc;
}

/* endpoint -> the traces URL: "/v1/traces" appended to the base (once). */
static int set_url(struct gw_otel_config *c, const char *endpoint, int append, const char *what,
                   char *err, size_t errsize)
{
    size_t scheme = !strncmp(endpoint, "http://", 7)    ? 7
                    : !strncmp(endpoint, "https://", 8) ? 8
                                                        : 0;
    if (!scheme || !endpoint[scheme] || endpoint[scheme] == '/')
        return fail(err, errsize, what, "must be an http:// or https:// URL with a host");
    for (const char *p = endpoint; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return fail(err, errsize, what, "a URL holds no spaces or control characters");
    /* The path ends where a query (a collector's token, say) begins: the suffix goes there. */
    size_t q = strcspn(endpoint, "?#"), n = q;
    while (append && n > 0 && endpoint[n - 1] == '/')
        n--;
    const char *suffix = "/v1/traces";
    if (!append || (n >= 10 && !memcmp(endpoint + n - 10, suffix, 10)))
        suffix = "";
    if ((size_t)snprintf(c->url, sizeof c->url, "%.*s%s%s", (int)n, endpoint, suffix,
                         endpoint + q) >= sizeof c->url)
        return fail(err, errsize, what, "URL too long");
    return 0;
}

static int get_number(const cJSON *o, const char *key, double min, double max, double *out,
                      int integer, char *err, size_t errsize)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < min || v->valuedouble > max ||
        (integer && v->valuedouble != floor(v->valuedouble))) {
        snprintf(err, errsize, "otel.%s: must be %s between %g and %g", key,
                 integer ? "an integer" : "a number", min, max);
        return AIGW_EINVAL;
    }
    *out = v->valuedouble;
    return 1;
}

static int env_number(const char *(*env)(const char *), const char *var, double min, double max,
                      double *out, char *err, size_t errsize)
{
    const char *s = env ? env(var) : NULL;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || d < min || d > max || isnan(d)) {
        snprintf(err, errsize, "%s: must be a number between %g and %g", var, min, max);
        return AIGW_EINVAL;
    }
    *out = d;
    return 1;
}

static const char *known[] = {"enabled",           "endpoint",     "headers",
                              "sample_ratio",      "service_name", "capture_content",
                              "content_max_bytes", "queue_size",   "batch_size",
                              "batch_interval_ms", "timeout_ms",   NULL};

/* The file; has says what it set (the variables fill the rest). */
struct has {
    int enabled, ratio, service, queue, batch, interval, timeout;
};

static int parse_file(struct gw_otel_config *c, const cJSON *o, struct has *has, char *err,
                      size_t errsize)
{
    if (!cJSON_IsObject(o))
        return fail(err, errsize, "otel", "must be an object");
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        int k = 0;
        while (known[k] && strcmp(known[k], it->string))
            k++;
        if (!known[k]) {
            snprintf(err, errsize, "otel.%s: unknown key", it->string);
            return AIGW_EINVAL;
        }
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "enabled"))) {
        if (!cJSON_IsBool(v))
            return fail(err, errsize, "otel.enabled", "expected boolean");
        c->enabled = cJSON_IsTrue(v);
        has->enabled = 1;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "capture_content"))) {
        if (!cJSON_IsBool(v))
            return fail(err, errsize, "otel.capture_content", "expected boolean");
        c->capture_content = cJSON_IsTrue(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "service_name"))) {
        if (!cJSON_IsString(v) || !*v->valuestring ||
            strlen(v->valuestring) >= sizeof c->service_name)
            return fail(err, errsize, "otel.service_name", "expected a string of 1 to 255 bytes");
        gw_strlcpy(c->service_name, v->valuestring, sizeof c->service_name);
        has->service = 1;
    }
    /* "" is unset (the sample config lists every key with its default): the variables
     * decide. */
    if ((v = cJSON_GetObjectItemCaseSensitive(o, "endpoint"))) {
        if (!cJSON_IsString(v))
            return fail(err, errsize, "otel.endpoint", "expected string");
        int rc =
            !*v->valuestring ? 0 : set_url(c, v->valuestring, 1, "otel.endpoint", err, errsize);
        if (rc)
            return rc;
    }
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(o, "headers");
    if (hs && !cJSON_IsObject(hs))
        return fail(err, errsize, "otel.headers", "expected an object of strings");
    cJSON_ArrayForEach(it, hs)
    {
        if (!cJSON_IsString(it))
            return fail(err, errsize, "otel.headers", "expected an object of strings");
        int rc = add_header(c, it->string, strlen(it->string), it->valuestring,
                            strlen(it->valuestring), "otel.headers", err, errsize);
        if (rc)
            return rc;
    }
    double d;
    int rc;
    if ((rc = get_number(o, "sample_ratio", 0, 1, &c->sample_ratio, 0, err, errsize)) < 0)
        return rc;
    has->ratio = rc;
    if ((rc = get_number(o, "content_max_bytes", 0, 1 << 20, &d, 1, err, errsize)) < 0)
        return rc;
    c->content_max_bytes = rc ? (int64_t)d : c->content_max_bytes;
    if ((rc = get_number(o, "queue_size", 1, 1000000, &d, 1, err, errsize)) < 0)
        return rc;
    c->queue_size = (has->queue = rc) ? (int)d : c->queue_size;
    if ((rc = get_number(o, "batch_size", 1, 100000, &d, 1, err, errsize)) < 0)
        return rc;
    c->batch_size = (has->batch = rc) ? (int)d : c->batch_size;
    if ((rc = get_number(o, "batch_interval_ms", 1, 600000, &d, 1, err, errsize)) < 0)
        return rc;
    c->batch_interval_ms = (has->interval = rc) ? (int64_t)d : c->batch_interval_ms;
    if ((rc = get_number(o, "timeout_ms", 1, 600000, &d, 1, err, errsize)) < 0)
        return rc;
    c->timeout_ms = (has->timeout = rc) ? (int64_t)d : c->timeout_ms;
    return 0;
}

/* OTEL_TRACES_SAMPLER / _ARG, the ratio-based and constant samplers. */
static int env_sampler(struct gw_otel_config *c, const char *(*env)(const char *), char *err,
                       size_t errsize)
{
    const char *s = env("OTEL_TRACES_SAMPLER");
    if (!s || !*s)
        return 0;
    if (!strcmp(s, "always_on") || !strcmp(s, "parentbased_always_on")) {
        c->sample_ratio = 1;
    } else if (!strcmp(s, "always_off") || !strcmp(s, "parentbased_always_off")) {
        c->sample_ratio = 0;
    } else if (!strcmp(s, "traceidratio") || !strcmp(s, "parentbased_traceidratio")) {
        double d = 1;
        int rc = env_number(env, "OTEL_TRACES_SAMPLER_ARG", 0, 1, &d, err, errsize);
        if (rc < 0)
            return rc;
        c->sample_ratio = d;
    } else {
        snprintf(err, errsize, "OTEL_TRACES_SAMPLER: '%s' is not a sampler aigw has", s);
        return AIGW_EINVAL;
    }
    return 0;
}

static int parse_env(struct gw_otel_config *c, const char *(*env)(const char *),
                     const struct has *has, char *err, size_t errsize)
{
    const char *s;
    int rc = 0;
    if (!c->url[0] && (s = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) && *s)
        rc = set_url(c, s, 0, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", err, errsize);
    if (!rc && !c->url[0] && (s = env("OTEL_EXPORTER_OTLP_ENDPOINT")) && *s)
        rc = set_url(c, s, 1, "OTEL_EXPORTER_OTLP_ENDPOINT", err, errsize);
    if (!rc && (s = env("OTEL_EXPORTER_OTLP_TRACES_HEADERS")) && *s)
        rc = env_headers(c, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", s, err, errsize);
    if (!rc && (s = env("OTEL_EXPORTER_OTLP_HEADERS")) && *s)
        rc = env_headers(c, "OTEL_EXPORTER_OTLP_HEADERS", s, err, errsize);
    if (!rc && !has->service && (s = env("OTEL_SERVICE_NAME")) && *s &&
        gw_strlcpy(c->service_name, s, sizeof c->service_name) >= sizeof c->service_name)
        rc = fail(err, errsize, "OTEL_SERVICE_NAME", "longer than 255 bytes");
    if (!rc && !has->ratio)
        rc = env_sampler(c, env, err, errsize);
    /* Read (and judged) even when the file's key wins, which it does, as for the rest. */
    double d;
    if (!rc && (rc = env_number(env, "OTEL_BSP_MAX_QUEUE_SIZE", 1, 1000000, &d, err, errsize)) > 0)
        c->queue_size = has->queue ? c->queue_size : (int)d, rc = 0;
    if (!rc &&
        (rc = env_number(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1, 100000, &d, err, errsize)) > 0)
        c->batch_size = has->batch ? c->batch_size : (int)d, rc = 0;
    if (!rc && (rc = env_number(env, "OTEL_BSP_SCHEDULE_DELAY", 1, 600000, &d, err, errsize)) > 0)
        c->batch_interval_ms = has->interval ? c->batch_interval_ms : (int64_t)d, rc = 0;
    if (!rc &&
        (rc = env_number(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 1, 600000, &d, err, errsize)) > 0)
        c->timeout_ms = has->timeout ? c->timeout_ms : (int64_t)d, rc = 0;
    return rc;
}

static const char *process_env(const char *name)
{
    return getenv(name);
}

int gw_otel_config_parse(struct gw_otel_config *c, const cJSON *otel,
                         const char *(*env)(const char *name), char *err, size_t errsize)
{
    struct has has = {0};
    int rc = 0;
    if (!env)
        env = process_env;
    if (otel)
        rc = parse_file(c, otel, &has, err, errsize);
    if (!rc)
        rc = parse_env(c, env, &has, err, errsize);
    if (rc)
        return rc;
    const char *off = env("OTEL_SDK_DISABLED");
    if (!has.enabled)
        c->enabled = !(off && !strcasecmp(off, "true"));
    if (c->enabled && !c->url[0]) {
        if (has.enabled)
            return fail(err, errsize, "otel.enabled",
                        "no endpoint (otel.endpoint or "
                        "OTEL_EXPORTER_OTLP_ENDPOINT)");
        c->enabled = 0; /* nothing configured: off, at no cost */
    }
    if (c->batch_size > c->queue_size)
        c->batch_size = c->queue_size;
    return 0;
}
