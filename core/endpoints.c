/* endpoints - the table of what aigw answers (see endpoints.h). */
#include "endpoints.h"

#include <stdio.h>
#include <string.h>

#include "admin/admin.h"
#include "proxy/local.h"
#include "front/anthropic.h"
#include "front/openai.h"
#include "front/responses.h"

/* Order matters only among rows of one path: the first whose method (and when_header) fits
 * answers. */
static const struct gw_endpoint table[] = {
    {.method = "POST", .path = "/v1/chat/completions", .auth = 1,
     .dialect = &gw_dialect_openai_chat},
    {.method = "POST", .path = "/v1/completions", .auth = 1,
     .dialect = &gw_dialect_openai_completions},
    {.method = "POST", .path = "/v1/embeddings", .auth = 1,
     .dialect = &gw_dialect_openai_embeddings},
    {.method = "POST", .path = "/v1/images/generations", .auth = 1,
     .dialect = &gw_dialect_openai_images},
    {.method = "POST", .path = "/v1/responses", .auth = 1, .dialect = &gw_responses_dialect},
    /* Codex's remote compaction (a provider it takes for OpenAI's): aigw summarizes. */
    {.method = "POST", .path = "/v1/responses/compact", .auth = 1,
     .dialect = &gw_responses_compact_dialect},
    /* The input's token count: asked of a target that counts, else estimated locally. */
    {.method = "POST", .path = "/v1/responses/input_tokens", .auth = 1,
     .dialect = &gw_responses_input_tokens_dialect},
    {.method = "GET", .path = "/v1/responses/", .prefix = 1, .auth = 1,
     .local = gw_responses_local, .error_dialect = &gw_responses_dialect},
    {.method = "DELETE", .path = "/v1/responses/", .prefix = 1, .auth = 1,
     .local = gw_responses_local, .error_dialect = &gw_responses_dialect},
    /* Anthropic Messages; Claude Code adds ?beta=true, which is not part of the path. */
    {.method = "POST", .path = "/v1/messages", .auth = 1, .dialect = &gw_dialect_anthropic},
    {.method = "POST", .path = "/v1/messages/count_tokens", .auth = 1,
     .dialect = &gw_dialect_anthropic},
    /* Anthropic clients (they send anthropic-version) get the list in Anthropic's shape. */
    {.method = "GET", .path = "/v1/models", .auth = 1, .local = gw_local_models,
     .error_dialect = &gw_dialect_anthropic, .when_header = "anthropic-version"},
    {.method = "GET", .path = "/v1/models/", .prefix = 1, .auth = 1, .local = gw_local_models,
     .error_dialect = &gw_dialect_anthropic, .when_header = "anthropic-version"},
    {.method = "GET", .path = "/v1/models", .auth = 1, .local = gw_local_models},
    {.method = "GET", .path = "/v1/models/", .prefix = 1, .auth = 1, .local = gw_local_models},
    /* A gateway key's own limits, budget and spend (admin/admin.c). */
    {.method = "GET", .path = "/v1/usage", .auth = 1, .local = gw_admin_usage_local},
    {.method = "GET", .path = "/health", .local = gw_local_health},
    {.method = "GET", .path = "/ready", .local = gw_local_ready},
    /* Claude Code's start-up probe (HEAD /). */
    {.method = "GET", .path = "/", .local = gw_local_health},
    /* The admin API (admin/admin.c routes within it; it authenticates on its own). */
    {.method = "GET", .path = "/admin", .local = gw_admin_local},  /* -> /admin/ */
    {.method = "GET", .path = "/admin/", .local = gw_admin_local}, /* the console */
    {.method = "GET", .path = "/admin/", .prefix = 1, .local = gw_admin_local},
    {.method = "POST", .path = "/admin/", .prefix = 1, .local = gw_admin_local, .body = 1},
    {.method = "PATCH", .path = "/admin/", .prefix = 1, .local = gw_admin_local, .body = 1},
    {.method = "DELETE", .path = "/admin/", .prefix = 1, .local = gw_admin_local},
};

static int path_matches(const struct gw_endpoint *e, const char *path)
{
    if (e->prefix)
        return strncmp(path, e->path, strlen(e->path)) == 0 && path[strlen(e->path)];
    return strcmp(path, e->path) == 0;
}

static void allow_add(char *allow, size_t size, const char *m)
{
    if (strstr(allow, m))
        return;
    size_t n = strlen(allow);
    const char *sep = n ? ", " : "";
    if (n + strlen(sep) + strlen(m) + 1 > size)
        return;
    memcpy(allow + n, sep, strlen(sep));
    memcpy(allow + n + strlen(sep), m, strlen(m) + 1);
}

const struct gw_endpoint *gw_endpoint_find(const char *method, const char *path,
                                           int (*has_header)(void *ud, const char *name),
                                           void *ud, char *allow, size_t allow_size)
{
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    if (allow_size)
        allow[0] = '\0';
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct gw_endpoint *e = &table[i];
        if (!path_matches(e, path))
            continue;
        if (e->when_header && !(has_header && has_header(ud, e->when_header)))
            continue;
        if (strcmp(e->method, m) == 0)
            return e;
        if (allow_size) {
            allow_add(allow, allow_size, e->method);
            if (!strcmp(e->method, "GET"))
                allow_add(allow, allow_size, "HEAD");
        }
    }
    return NULL;
}

const struct gw_endpoint *gw_endpoint_at(size_t i)
{
    return i < sizeof table / sizeof table[0] ? &table[i] : NULL;
}

enum miss { EXTRA_PART, MISSING_V1, SLASHES };

/* An API row (one a client's base URL reaches) for method + path, or NULL. */
static const struct gw_endpoint *api_row(const char *method, const char *path)
{
    const struct gw_endpoint *e = gw_endpoint_find(method, path, NULL, NULL, NULL, 0);
    return e && e->auth ? e : NULL;
}

/* The API row a mistyped path most likely meant, and why it missed: a doubled or trailing
 * slash (a base URL ending in "/" joined to a path starting with one), a known path under one
 * or more extra segments (ANTHROPIC_BASE_URL ending in /v1 gives "/v1/v1/messages"; a base URL
 * copied from another gateway, "/openai/v1/chat/completions"), or the path without the /v1
 * that an OpenAI client's base URL must end in ("/chat/completions"). */
static const struct gw_endpoint *suggest(const char *method, const char *path, enum miss *why)
{
    char buf[256];
    size_t n = strlen(path), o = 0;
    if (path[0] != '/' || n + 4 > sizeof buf)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (path[i] != '/' || o == 0 || buf[o - 1] != '/')
            buf[o++] = path[i];
    if (o > 1 && buf[o - 1] == '/')
        o--;
    buf[o] = '\0';
    const struct gw_endpoint *e = o != n ? api_row(method, buf) : NULL;
    *why = SLASHES;
    for (const char *s = strchr(buf + 1, '/'); s && !e; s = strchr(s + 1, '/'))
        e = api_row(method, s), *why = EXTRA_PART;
    if (e || strncmp(buf, "/v1/", 4) == 0)
        return e;
    memmove(buf + 3, buf, o + 1);
    memcpy(buf, "/v1", 3);
    *why = MISSING_V1;
    return api_row(method, buf);
}

const struct gw_dialect *gw_endpoint_unknown(const char *method, const char *path,
                                             int (*has_header)(void *ud, const char *name),
                                             void *ud, char *msg, size_t msg_size)
{
    enum miss why = EXTRA_PART;
    const struct gw_endpoint *e = suggest(method, path, &why);
    const struct gw_dialect *d = e ? (e->dialect ? e->dialect : e->error_dialect) : NULL;
    /* Anthropic's SDKs read only their own error shape, and they all send this header. */
    if (has_header && has_header(ud, "anthropic-version"))
        d = &gw_dialect_anthropic;
    if (!e) {
        snprintf(msg, msg_size, "no such endpoint");
        return d;
    }
    /* The advice is for the kind of client that calls the suggested endpoint. */
    const char *base = d == &gw_dialect_anthropic
                           ? "an Anthropic client's base URL is the gateway's address, without "
                             "/v1 (the client adds it)"
                           : "an OpenAI client's base URL is the gateway's address followed by "
                             "/v1";
    const char *what = why == SLASHES      ? "The path has a doubled or trailing slash"
                       : why == MISSING_V1 ? "The path lacks /v1"
                                           : "The path has an extra part in front";
    snprintf(msg, msg_size, "no such endpoint; did you mean %s%s? %s: %s", e->path,
             e->prefix ? "..." : "", what, base);
    return d;
}
