/* endpoints - the table of what aigw answers (see endpoints.h). */
#include "endpoints.h"

#include <string.h>

#include "proxy/local.h"
#include "front/anthropic.h"
#include "front/openai.h"

static const struct gw_endpoint table[] = {
    {"POST", "/v1/chat/completions", 0, 1, &gw_dialect_openai_chat, NULL, NULL, NULL},
    {"POST", "/v1/completions", 0, 1, &gw_dialect_openai_completions, NULL, NULL, NULL},
    {"POST", "/v1/embeddings", 0, 1, &gw_dialect_openai_embeddings, NULL, NULL, NULL},
    {"POST", "/v1/images/generations", 0, 1, &gw_dialect_openai_images, NULL, NULL, NULL},
    /* Anthropic Messages; Claude Code adds ?beta=true, which is not part of the path. */
    {"POST", "/v1/messages", 0, 1, &gw_dialect_anthropic, NULL, NULL, NULL},
    {"POST", "/v1/messages/count_tokens", 0, 1, &gw_dialect_anthropic, NULL, NULL, NULL},
    /* Anthropic clients (they send anthropic-version) get the list in Anthropic's shape. */
    {"GET", "/v1/models", 0, 1, NULL, gw_local_models, &gw_dialect_anthropic,
     "anthropic-version"},
    {"GET", "/v1/models/", 1, 1, NULL, gw_local_models, &gw_dialect_anthropic,
     "anthropic-version"},
    {"GET", "/v1/models", 0, 1, NULL, gw_local_models, NULL, NULL},
    {"GET", "/v1/models/", 1, 1, NULL, gw_local_models, NULL, NULL},
    {"GET", "/health", 0, 0, NULL, gw_local_health, NULL, NULL},
    {"GET", "/ready", 0, 0, NULL, gw_local_ready, NULL, NULL},
    /* Claude Code's start-up probe (HEAD /). */
    {"GET", "/", 0, 0, NULL, gw_local_health, NULL, NULL},
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
