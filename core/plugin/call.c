/* call - one upstream attempt (see call.h). */
#include "plugin/call.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugin/host.h"
#include "plugin/plugin_loader.h"

int gw_call_init(struct gw_call *c, struct gw_plugin *p, int op, const cJSON *body,
                 const char *model, int stream, int include_usage)
{
    memset(c, 0, sizeof *c);
    c->pub.abi_version = AIGW_ABI_VERSION;
    /* Covers every member this header declares (1.2: inbound, inbound_body), which is how a
     * plugin learns it may read them. */
    c->pub.struct_size = sizeof c->pub;
    c->pub.inbound = "openai";
    c->pub.host = gw_host();
    c->pub.op = op;
    c->pub.stream = stream;
    c->pub.include_usage = include_usage;
    c->pub.attempt = 1;
    c->pub.body = body;
    c->plugin = p;
    c->pub.plugin_data = p ? p->plugin_data : NULL;
    gw_arena_init(&c->arena, 0);
    gw_arena_init(&c->keep, 0);
    gw_jsonarena_init(&c->jsonmem, GW_JSON_CAP);
    c->pub.model = model ? gw_arena_strndup(&c->keep, model, strlen(model)) : NULL;
    if (model && !c->pub.model)
        return AIGW_ENOMEM;
    size_t ss = p ? p->desc.state_size : 0;
    if (ss) {
        c->pub.state = gw_arena_alloc(&c->keep, ss);
        if (!c->pub.state)
            return AIGW_ENOMEM;
    }
    gw_buf_init(&c->resp_body, GW_RESPONSE_BODY_CAP);
    c->headers_tail = &c->headers;
    c->error.retry_after_ms = -1;
    return 0;
}

void gw_call_drop_body(struct gw_call *c)
{
    if (c->body)
        gw_arena_drop(&c->arena, c->body);
    c->body = NULL;
    c->body_len = 0;
}

void gw_call_set_inbound(struct gw_call *c, const char *dialect, const cJSON *native)
{
    c->pub.inbound = dialect ? dialect : "openai";
    c->pub.inbound_body = native;
}

/* Plugins declaring 1.0 to 1.2 were built before parsed trees became read-only (1.3): one
 * that takes a tree apart must keep getting cJSON's own. */
static int legacy_plugin(const struct gw_call *c)
{
    return c->plugin && AIGW_ABI_MINOR_OF(c->plugin->desc.abi_version) < 3;
}

cJSON *gw_call_json_parse(struct gw_call *c, const char *p, size_t n)
{
    if (!p)
        return NULL;
    if (!legacy_plugin(c))
        return gw_jsonarena_parse(&c->jsonmem, p, n);
    struct gw_json_node *node = gw_jsonarena_alloc(&c->jsonmem, sizeof *node);
    cJSON *j = node ? cJSON_ParseWithLength(p, n) : NULL;
    if (!j)
        return NULL;
    node->json = j;
    node->next = c->json;
    c->json = node;
    return j;
}

struct gw_json_mark gw_call_json_mark(const struct gw_call *c)
{
    struct gw_json_mark m = {gw_jsonarena_mark(&c->jsonmem), c->json};
    return m;
}

void gw_call_json_release(struct gw_call *c, struct gw_json_mark m)
{
    while (c->json && c->json != m.legacy) {
        struct gw_json_node *n = c->json;
        c->json = n->next;
        cJSON_Delete(n->json);
    }
    gw_jsonarena_rewind(&c->jsonmem, m.mem);
}

static void free_json(struct gw_call *c)
{
    struct gw_json_mark none = {{NULL, NULL}, NULL};
    gw_call_json_release(c, none);
    gw_jsonarena_free(&c->jsonmem);
}

void gw_call_clear_request(struct gw_call *c)
{
    c->method = c->url = NULL;
    c->headers = NULL;
    c->headers_tail = &c->headers;
    c->body = NULL;
    c->body_len = 0;
    c->framing = AIGW_FRAMING_JSON;
    c->framing_set = 0;
    c->delay_ms = 0;
    c->credential_step = 0;
}

void gw_call_clear_response(struct gw_call *c)
{
    c->status = 0;
    c->pub.status = 0;
    c->resp_headers = NULL;
    gw_buf_reset(&c->resp_body);
    if (c->streaming)
        gw_framer_free(&c->framer);
    c->streaming = 0;
    c->done = 0;
    c->framed = 0;
    c->oai_stream = 0;
    c->oai_ended = 0;
}

void gw_call_free(struct gw_call *c)
{
    if (c->streaming)
        gw_framer_free(&c->framer);
    c->streaming = 0;
    free_json(c);
    gw_buf_free(&c->resp_body);
    gw_arena_free(&c->arena);
    gw_arena_free(&c->keep);
}

int gw_call_add_resp_header(struct gw_call *c, const char *name, size_t nlen, const char *value,
                            size_t vlen)
{
    struct gw_header *h = gw_arena_alloc(&c->arena, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    h->name = gw_arena_strndup(&c->arena, name, nlen);
    h->value = gw_arena_strndup(&c->arena, value, vlen);
    if (!h->name || !h->value)
        return AIGW_ENOMEM;
    h->next = c->resp_headers;
    c->resp_headers = h;
    return 0;
}

const char *gw_call_find_header(const struct gw_header *h, const char *name)
{
    for (; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    return NULL;
}
