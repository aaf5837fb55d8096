/*
 * max-size - a guard on the request's size: how many messages, how many characters of input
 * (Unicode code points over every text the request carries, as gcommon.h lists them), and a
 * ceiling on max_tokens. Over a count limit the request is blocked; over the ceiling,
 * max_tokens (and max_completion_tokens) is lowered to it, or the request is blocked when
 * max_tokens_action is "block". A chat request that sets neither gets max_tokens = the
 * ceiling, since a ceiling that can be dodged by leaving the field out is none.
 *
 * Config: {"max_messages": 100, "max_input_chars": 200000, "max_tokens": 4096,
 *          "max_tokens_action": "clamp" | "block"}   (at least one limit)
 *
 * Threading: the instance is read-only after create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

#include "common/gcommon.h"

struct ms {
    double max_messages, max_chars, max_tokens; /* 0: no limit */
    int block_tokens;
};

static const char schema[] =
    "{\"type\":\"object\",\"additionalProperties\":false,\"minProperties\":1,\"properties\":{"
    "\"max_messages\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000},"
    "\"max_input_chars\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000000000},"
    "\"max_tokens\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000000},"
    "\"max_tokens_action\":{\"enum\":[\"clamp\",\"block\"]}}}";

static int create(const struct aigw_guard_host *host, const cJSON *cfg, void **instance, char *err,
                  size_t errsize)
{
    struct ms *m = calloc(1, sizeof *m);
    (void)host;
    if (!m)
        return AIGW_ENOMEM;
    m->max_messages = gg_cfg_num(cfg, "max_messages", 0);
    m->max_chars = gg_cfg_num(cfg, "max_input_chars", 0);
    m->max_tokens = gg_cfg_num(cfg, "max_tokens", 0);
    m->block_tokens = !strcmp(gg_cfg_str(cfg, "max_tokens_action", "clamp"), "block");
    if (!m->max_messages && !m->max_chars && !m->max_tokens) {
        snprintf(err, errsize, "set max_messages, max_input_chars or max_tokens");
        free(m);
        return AIGW_EINVAL;
    }
    *instance = m;
    return 0;
}

static void destroy(void *instance)
{
    free(instance);
}

static int count_chars(void *ud, cJSON *item, const char *where)
{
    double *n = ud;
    (void)where;
    *n += (double)gg_utf8_count(item->valuestring, strlen(item->valuestring));
    return 0;
}

/* max_tokens and max_completion_tokens against the ceiling. */
static int ceiling(struct aigw_guard_ctx *g, const struct ms *m, cJSON *req)
{
    static const char *const fields[] = {"max_tokens", "max_completion_tokens"};
    int present = 0, rewrote = 0;
    for (int k = 0; k < 2; k++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(req, fields[k]);
        if (!cJSON_IsNumber(v))
            continue;
        present = 1;
        if (v->valuedouble <= m->max_tokens)
            continue;
        if (m->block_tokens)
            return g->host->deny(g, "%s %.0f is above the ceiling %.0f", fields[k], v->valuedouble,
                                 m->max_tokens);
        cJSON_SetNumberValue(v, m->max_tokens);
        rewrote = 1;
    }
    if (!present && g->op == AIGW_OP_CHAT) {
        if (!cJSON_AddNumberToObject(req, "max_tokens", m->max_tokens))
            return AIGW_ENOMEM;
        rewrote = 1;
    }
    return rewrote ? AIGW_GUARD_REWRITE : AIGW_GUARD_ALLOW;
}

static int on_request(struct aigw_guard_ctx *g, cJSON *req)
{
    const struct ms *m = g->instance;
    if (m->max_messages) {
        double n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(req, "messages"));
        if (n > m->max_messages)
            return g->host->deny(g, "the request has %.0f messages; at most %.0f are allowed", n,
                                 m->max_messages);
    }
    if (m->max_chars) {
        double n = 0;
        gg_request_texts(req, count_chars, &n);
        if (n > m->max_chars)
            return g->host->deny(g, "the input is %.0f characters; at most %.0f are allowed", n,
                                 m->max_chars);
    }
    if (m->max_tokens && cJSON_IsObject(req))
        return ceiling(g, m, req);
    return AIGW_GUARD_ALLOW;
}

static const struct aigw_guard guard = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_guard),
    .name = "max-size",
    .version = "1.0.0",
    .description = "limits messages and input characters, and puts a ceiling on max_tokens",
    .config_schema = schema,
    .stages = AIGW_GUARD_INPUT,
    .state_size = 0,
    .window = 0,
    .create = create,
    .destroy = destroy,
    .on_request = on_request,
    .on_answer_delta = NULL,
    .on_answer_final = NULL,
    .on_error = NULL,
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
