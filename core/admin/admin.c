/* admin - the /admin/ router (see admin.h). */
#include "admin/admin.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "admin/admin_keys.h"
#include "admin/admin_routes.h"
#include "admin/console.h"
#include "aigw/plugin.h"
#include "front/respond.h"
#include "lib/log.h"
#include "lib/redact.h"
#include "net/peer.h"
#include "plugin/errors.h"
#include "proxy/accept.h"
#include "proxy/authenticate.h"
#include "proxy/authfail.h"
#include "proxy/gateway.h"

#define ADMIN_ALLOW_MAX 64

/* ---- the routes --------------------------------------------------------------------------- */

static int keys_route(const struct gw_admin_req *q, struct gw_admin_resp *a)
{
    char path[600];
    int n = snprintf(path, sizeof path, "%s%s%s", q->rest, q->query[0] ? "?" : "", q->query);
    if (n < 0 || (size_t)n >= sizeof path) {
        a->status = 414;
        return gw_buf_append_str(a->out, "{\"error\":{\"message\":\"the path is too long\","
                                         "\"type\":\"invalid_request_error\",\"param\":null,"
                                         "\"code\":\"uri_too_long\"}}");
    }
    return gw_admin_keys_handle(q->store, q->method, path, q->body, q->body_len, a->out,
                                &a->status);
}

/* One row per route: the first whose prefix matches the path (whole, or followed by '/')
 * answers. */
static const struct {
    const char *prefix;
    int (*handle)(const struct gw_admin_req *q, struct gw_admin_resp *a);
} routes[] = {
    {"/admin/keys", keys_route},
    {"/admin/logs", gw_admin_route_logs},
    {"/admin/usage", gw_admin_route_usage},
    {"/admin/providers", gw_admin_route_providers},
    {"/admin/config", gw_admin_route_config},
};

const char *gw_admin_route_at(size_t i)
{
    return i < sizeof routes / sizeof routes[0] ? routes[i].prefix : NULL;
}

/* ---- configuration ---------------------------------------------------------------------- */

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

static struct cidr allow[ADMIN_ALLOW_MAX];
static size_t nallow;

static int cidr_parse(const char *text, struct cidr *out)
{
    char host[64];
    const char *slash = strchr(text, '/');
    size_t hl = slash ? (size_t)(slash - text) : strlen(text);
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, text, hl);
    host[hl] = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
    } else {
        return -1;
    }
    if (slash) {
        char *end = NULL;
        long b = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || b < 0 || b > out->bits)
            return -1;
        out->bits = (int)b;
    }
    return 0;
}

int gw_admin_cidr_valid(const char *text)
{
    struct cidr c;
    return text && cidr_parse(text, &c) == 0;
}

int gw_admin_configure(struct gw_config *cfg, char *err, size_t errsize)
{
    const char *env = getenv("AIGW_ADMIN_KEY");
    if (env && *env) {
        if (strlen(env) < 16 || strlen(env) >= sizeof cfg->admin_key) {
            snprintf(err, errsize, "AIGW_ADMIN_KEY: must be 16 to %zu characters",
                     sizeof cfg->admin_key - 1);
            return AIGW_EINVAL;
        }
        snprintf(cfg->admin_key, sizeof cfg->admin_key, "%s", env);
    }
    gw_redact_register(cfg->admin_key[0] ? cfg->admin_key : NULL);
    nallow = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cfg->admin_allow)
    {
        if (!cJSON_IsString(it) || nallow >= ADMIN_ALLOW_MAX ||
            cidr_parse(it->valuestring, &allow[nallow]) < 0) {
            snprintf(err, errsize,
                     "admin.allow: every entry must be an address or CIDR block "
                     "(at most %d)",
                     ADMIN_ALLOW_MAX);
            return AIGW_EINVAL;
        }
        nallow++;
    }
    return 0;
}

/* ---- client addresses ------------------------------------------------------------------- */

static int cidr_match(const struct cidr *c, int family, const unsigned char *raw)
{
    if (c->family != family)
        return 0;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, raw, (size_t)full))
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (c->addr[full] & mask) == (raw[full] & mask);
}

static int address_allowed(int family, const unsigned char *raw)
{
    if (!nallow)
        return 1;
    for (size_t i = 0; i < nallow; i++)
        if (cidr_match(&allow[i], family, raw))
            return 1;
    return 0;
}

/* ---- the handler ------------------------------------------------------------------------ */

static const char *arg_of(void *ud, const char *name)
{
    return MHD_lookup_connection_value(ud, MHD_GET_ARGUMENT_KIND, name);
}

struct query_build {
    char *buf;
    size_t size, len;
    int overflow;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct query_build *q = cls;
    /* Values are rebuilt unescaped: the handlers' arguments are numbers and ids, and one
     * holding '&', '=' or '?' is dropped rather than misread. */
    if (!value)
        value = "";
    if (strpbrk(key, "&=?#") || strpbrk(value, "&=?#"))
        return MHD_YES;
    int n = snprintf(q->buf + q->len, q->size - q->len, "%s%s=%s", q->len ? "&" : "", key, value);
    if (n < 0 || (size_t)n >= q->size - q->len) {
        q->overflow = 1;
        q->buf[q->len] = '\0';
        return MHD_NO;
    }
    q->len += (size_t)n;
    return MHD_YES;
}

/* retry_after: the Retry-After header's seconds, or NULL. */
static enum MHD_Result answer_ra(struct gw_local_call *lc, int status, const char *ctype,
                                 const char *body, size_t len, int64_t t0, const char *retry_after)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (retry_after)
        MHD_add_response_header(resp, "Retry-After", retry_after);
    MHD_add_response_header(resp, "Content-Type", ctype ? ctype : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    gw_add_common_headers(resp, lc->rid);
    enum MHD_Result rc = MHD_queue_response(lc->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    gw_access_log_simple(lc->rid, lc->method, lc->url, status, gw_now_ms() - t0);
    return rc;
}

static enum MHD_Result answer(struct gw_local_call *lc, int status, const char *ctype,
                              const char *body, size_t len, int64_t t0)
{
    return answer_ra(lc, status, ctype, body, len, t0, NULL);
}

static enum MHD_Result fail_ra(struct gw_local_call *lc, int status, const char *code,
                               const char *message, int64_t t0, const char *retry_after)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    gw_error_json(&b, gw_error_type_for_status(status), code, NULL, message);
    enum MHD_Result rc =
        answer_ra(lc, status, NULL, b.ptr ? b.ptr : "{}", b.ptr ? b.len : 2, t0, retry_after);
    gw_buf_free(&b);
    return rc;
}

static enum MHD_Result fail(struct gw_local_call *lc, int status, const char *code,
                            const char *message, int64_t t0)
{
    return fail_ra(lc, status, code, message, t0, NULL);
}

enum MHD_Result gw_admin_local(struct gw_local_call *lc)
{
    int64_t t0 = gw_now_ms();
    struct gw_gateway *gw = gw_front_gateway(lc->front);
    const struct gw_config *cfg = gw->cfg;
    /* No admin key: the API does not exist (404, as for any unknown path), so there is
     * nothing to guess a key against. */
    if (!cfg->admin_key[0])
        return fail(lc, 404, "unknown_route", "no such endpoint", t0);
    int family = 0;
    unsigned char raw[16];
    if (gw_peer_of(lc->conn, &family, raw) < 0 || !address_allowed(family, raw))
        return fail(lc, 403, "admin_address_refused", "the admin API is not open to this address",
                    t0);
    /* The console's files hold no secret and sign in by themselves: served before the key
     * check, to the addresses the API is open to. */
    if (gw_console_path(lc->url) && (!strcmp(lc->method, "GET") || !strcmp(lc->method, "HEAD"))) {
        int st = 0;
        enum MHD_Result r = gw_console_serve(lc, &st) == MHD_YES ? MHD_YES : MHD_NO;
        gw_access_log_simple(lc->rid, lc->method, lc->url, st, gw_now_ms() - t0);
        return r;
    }
    int64_t wait_s = 0;
    if (gw_authfail_blocked(GW_AUTHFAIL_ADMIN, lc->conn, &wait_s)) {
        char ra[24];
        snprintf(ra, sizeof ra, "%lld", (long long)(wait_s > 0 ? wait_s : 1));
        return fail_ra(lc, 429, "too_many_failures",
                       "too many failed admin authentications from this address; retry later", t0,
                       ra);
    }
    if (!gw_token_matches(cfg->admin_key, MHD_lookup_connection_value(lc->conn, MHD_HEADER_KIND,
                                                                      "Authorization"))) {
        gw_authfail_count(GW_AUTHFAIL_ADMIN, lc->conn);
        gw_logf(AIGW_LOG_WARN, "admin", lc->rid, "refused %s %s: bad or missing admin key",
                lc->method, lc->url);
        return fail(lc, 401, "invalid_admin_key", "missing or invalid admin key", t0);
    }
    size_t i, nroutes = sizeof routes / sizeof routes[0];
    for (i = 0; i < nroutes; i++) {
        size_t pl = strlen(routes[i].prefix);
        if (!strncmp(lc->url, routes[i].prefix, pl) && (lc->url[pl] == '\0' || lc->url[pl] == '/'))
            break;
    }
    if (i == nroutes)
        return fail(lc, 404, "unknown_route", "no such admin endpoint", t0);
    if (!gw->store)
        return fail(lc, 503, "store_unavailable", "no state store", t0);
    char query[512] = "";
    struct query_build qb = {query, sizeof query, 0, 0};
    MHD_get_connection_values(lc->conn, MHD_GET_ARGUMENT_KIND, add_arg, &qb);
    if (qb.overflow)
        return fail(lc, 414, "uri_too_long", "the query is too long", t0);
    struct gw_buf out;
    gw_buf_init(&out, 16u << 20);
    struct gw_admin_req q = {
        .store = gw->store,
        .gw = gw,
        .cfg = cfg,
        .method = strcmp(lc->method, "HEAD") ? lc->method : "GET",
        .rest = lc->url + strlen(routes[i].prefix),
        .query = query,
        .arg = arg_of,
        .arg_ud = lc->conn,
        .body = lc->body ? lc->body : "",
        .body_len = lc->body ? lc->body_len : 0,
    };
    struct gw_admin_resp a = {&out, 500, NULL};
    int rc = routes[i].handle(&q, &a);
    enum MHD_Result r;
    if (rc < 0)
        r = fail(lc, 500, "internal_error", "out of memory", t0);
    else
        r = answer(lc, a.status, a.content_type, out.ptr ? out.ptr : "", out.len, t0);
    gw_buf_free(&out);
    return r;
}

enum MHD_Result gw_admin_usage_local(struct gw_local_call *lc)
{
    int64_t t0 = gw_now_ms();
    struct gw_gateway *gw = gw_front_gateway(lc->front);
    if (!lc->key_id || !lc->key_id[0])
        return fail(lc, 400, "no_gateway_key",
                    "usage is kept per gateway key; this request presented none", t0);
    if (!gw->store)
        return fail(lc, 503, "store_unavailable", "no state store", t0);
    struct gw_buf out;
    gw_buf_init(&out, 1u << 20);
    int status = 500;
    /* One indexed read, like GET /v1/responses/{id}: cheap enough on a worker. */
    int rc = gw_admin_key_usage(gw->store, lc->key_id, &out, &status);
    enum MHD_Result r = rc < 0 ? fail(lc, 500, "internal_error", "out of memory", t0)
                               : answer(lc, status, NULL, out.ptr ? out.ptr : "", out.len, t0);
    gw_buf_free(&out);
    return r;
}
