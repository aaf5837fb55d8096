/*
 * oaiwire - shared request envelope and body edits for the OpenAI-wire plugins (oaiwire.h).
 */
#include "oaiwire.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flattened content larger than this is not a chat message any provider accepts. */
#define MAX_FLAT_CONTENT (16u << 20)

cJSON *oaiw_get(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int oaiw_str_is(const cJSON *it, const char *s)
{
    return cJSON_IsString(it) && it->valuestring && strcmp(it->valuestring, s) == 0;
}

int oaiw_set(cJSON *obj, const char *key, cJSON *val)
{
    if (!val)
        return AIGW_ENOMEM;
    if (!cJSON_IsObject(obj)) {
        cJSON_Delete(val);
        return AIGW_EINVAL;
    }
    if (cJSON_GetObjectItemCaseSensitive(obj, key)
            ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val)
            : cJSON_AddItemToObject(obj, key, val))
        return 0;
    cJSON_Delete(val);
    return AIGW_ENOMEM;
}

int oaiw_rename(cJSON *obj, const char *from, const char *to)
{
    cJSON *v;
    if (!cJSON_IsObject(obj) || !(v = cJSON_DetachItemFromObjectCaseSensitive(obj, from)))
        return 0;
    return oaiw_set(obj, to, v);
}

static int listed(const char *const *list, const char *s)
{
    size_t i;
    for (i = 0; s && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

void oaiw_keep_only(cJSON *obj, const char *const *keep)
{
    cJSON *it, *next;
    if (!cJSON_IsObject(obj))
        return;
    for (it = obj->child; it; it = next) {
        next = it->next;
        if (!listed(keep, it->string))
            cJSON_Delete(cJSON_DetachItemViaPointer(obj, it));
    }
}

int oaiw_has(struct aigw_bytes b, const char *needle)
{
    size_t n = strlen(needle);
    return b.ptr && n && b.len >= n && memmem(b.ptr, b.len, needle, n) != NULL;
}

/* A content part's text: a bare string or {"type":"text","text":...}; NULL for images etc. */
static const char *part_text(const cJSON *p)
{
    return cJSON_IsString(p) ? p->valuestring : cJSON_GetStringValue(oaiw_get(p, "text"));
}

int oaiw_flatten_content(cJSON *msg)
{
    cJSON *content = oaiw_get(msg, "content"), *p;
    size_t total = 0, off = 0;
    char *buf;
    int rc;

    if (!cJSON_IsArray(content))
        return 0;
    cJSON_ArrayForEach(p, content)
    {
        const char *t = part_text(p);
        if (t)
            total += strlen(t) + 1;
        if (total > MAX_FLAT_CONTENT)
            return AIGW_ETOOBIG;
    }
    if (!(buf = malloc(total + 1)))
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(p, content)
    {
        const char *t = part_text(p);
        size_t n;
        if (!t)
            continue;
        if (off)
            buf[off++] = '\n';
        n = strlen(t);
        memcpy(buf + off, t, n);
        off += n;
    }
    buf[off] = '\0';
    rc = oaiw_set(msg, "content", cJSON_CreateString(buf));
    free(buf);
    return rc;
}

int oaiw_text_parts(const cJSON *content)
{
    const cJSON *p;
    if (!cJSON_IsArray(content) || !content->child)
        return 0;
    cJSON_ArrayForEach(p, content)
    {
        if (!oaiw_str_is(oaiw_get(p, "type"), "text") || !cJSON_IsString(oaiw_get(p, "text")))
            return 0;
    }
    return 1;
}

cJSON *oaiw_body(struct aigw_call *call, const char *const *drop, unsigned flags)
{
    struct aigw_oai_opts o;
    cJSON *body, *m;

    memset(&o, 0, sizeof o);
    o.abi_version = AIGW_ABI_VERSION;
    o.struct_size = sizeof o;
    o.drop_fields = drop;
    o.send_include_usage = (flags & OAIW_USAGE) != 0;
    o.set_model = 1;
    if (!(body = call->host->oai_request_body(call, &o)))
        return NULL;
    if ((flags & OAIW_MAX_TOKENS) && oaiw_rename(body, "max_completion_tokens", "max_tokens"))
        goto fail;
    /* Only OpenAI knows "developer"; it means the same as "system" to every one of these. */
    cJSON_ArrayForEach(m, oaiw_get(body, "messages"))
    {
        if (oaiw_str_is(oaiw_get(m, "role"), "developer") &&
            oaiw_set(m, "role", cJSON_CreateString("system")))
            goto fail;
    }
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}

int oaiw_post(struct aigw_call *call, const struct oaiw_target *t, const char *path, cJSON *body)
{
    const struct aigw_host *h = call->host;
    const char *key, *base;
    char name[64], *url, *auth;
    size_t n;
    int rc, framing;

    if (!body)
        return AIGW_ENOMEM;
    snprintf(name, sizeof name, "%s_API_KEY", t->prefix);
    if (!(key = h->env(name))) {
        cJSON_Delete(body);
        return AIGW_ECONFIG;
    }
    snprintf(name, sizeof name, "%s_BASE_URL", t->prefix);
    if (!(base = h->env(name)))
        base = t->base_default;
    n = strlen(base);
    while (n && base[n - 1] == '/') /* "…/v1/" + "/chat/completions" */
        n--;
    url = n < INT_MAX ? h->strf(call, "%.*s%s", (int)n, base, path) : NULL;
    auth = h->strf(call, "Bearer %s", key);
    if (!url || !auth) {
        cJSON_Delete(body);
        return AIGW_ENOMEM;
    }
    framing = call->op == AIGW_OP_CHAT && call->stream ? AIGW_FRAMING_SSE : AIGW_FRAMING_JSON;
    if ((rc = h->set_method(call, "POST")) || (rc = h->set_url(call, url)) ||
        (rc = h->add_header(call, "Authorization", auth, AIGW_HDR_SECRET)) ||
        (rc = h->add_header(call, "Content-Type", "application/json", 0)) ||
        (rc = h->set_framing(call, framing))) {
        cJSON_Delete(body);
        return rc;
    }
    return h->set_body_json(call, body);
}

int oaiw_parse_response(struct aigw_call *call, struct aigw_bytes body)
{
    return call->host->oai_parse_response(call, body);
}

int oaiw_stream_event(struct aigw_call *call, const struct aigw_frame *frame)
{
    return call->host->oai_stream_event(call, frame);
}

int oaiw_map_error_as(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err,
                      const struct oaiw_remap *r)
{
    int rc = call->host->oai_map_error(call, body, err);
    if (rc != 0 || err->status != r->from)
        return rc;
    err->status = r->to;
    err->type = r->type;
    err->code = r->code ? r->code : err->code;
    err->retryable = r->retryable;
    if (!r->retryable)
        err->retry_after_ms = -1;
    return 0;
}

cJSON *oaiw_parse(struct aigw_bytes b)
{
    return b.ptr && b.len ? cJSON_ParseWithLength(b.ptr, b.len) : NULL;
}

int oaiw_stream_json(struct aigw_call *call, const struct aigw_frame *frame, cJSON *root)
{
    struct aigw_frame f = *frame;
    char *s;
    int rc;

    if (!root) /* not JSON after all: the host knows how to report that */
        return call->host->oai_stream_event(call, frame);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return AIGW_ENOMEM;
    f.data.ptr = s;
    f.data.len = strlen(s);
    rc = call->host->oai_stream_event(call, &f);
    free(s);
    return rc;
}

int oaiw_parse_json(struct aigw_call *call, struct aigw_bytes body, cJSON *root)
{
    char *s;
    int rc;

    if (!root)
        return call->host->oai_parse_response(call, body);
    s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return AIGW_ENOMEM;
    rc = call->host->oai_parse_response(call, aigw_bytes_of(s));
    free(s);
    return rc;
}

int oaiw_finish_rename(cJSON *root, const char *from, const char *to)
{
    cJSON *ch;
    int n = 0;
    cJSON_ArrayForEach(ch, oaiw_get(root, "choices"))
    {
        if (oaiw_str_is(oaiw_get(ch, "finish_reason"), from) &&
            oaiw_set(ch, "finish_reason", cJSON_CreateString(to)) == 0)
            n++;
    }
    return n;
}
