/* key - canonical request form and the cache key (see key.h). */
#include "cache/key.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/crypto.h"

/* Each changes how or to whom an answer is delivered, billed or logged, never what it says:
 *   model                 hashed as its own component (the same bytes)
 *   stream, stream_options  delivery: a hit is replayed streamed or not
 *   user, safety_identifier, metadata  who asked, for the provider's abuse checks and logs
 *   store                 whether the provider keeps a copy
 *   prompt_cache_key, prompt_cache_retention  the provider's prompt cache (cost only)
 *   service_tier          the provider's processing tier (latency and price only) */
const char *const GW_CACHE_IGNORED[] = {
    "model",
    "stream",
    "stream_options",
    "user",
    "safety_identifier",
    "metadata",
    "store",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
    NULL,
};

static int ignored(const char *name)
{
    for (const char *const *p = GW_CACHE_IGNORED; *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* The shortest %g form that reads back as the same double: one spelling per number. */
static int put_number(struct gw_buf *out, double d)
{
    if (!isfinite(d))
        return AIGW_EINVAL;
    if (d == 0)
        return gw_buf_append(out, "0", 1); /* -0 too */
    char s[40];
    if (fabs(d) < 9007199254740992.0 && d == (double)(int64_t)d)
        return gw_buf_append_i64(out, (int64_t)d);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    return gw_buf_append_str(out, s);
}

static int put_string(struct gw_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = gw_buf_append(out, "\"", 1);
    const char *run = s;
    for (const char *p = s; !rc && *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = gw_buf_append(out, run, (size_t)(p - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (!rc && (c == '"' || c == '\\')) {
            esc[1] = (char)c;
            rc = gw_buf_append(out, esc, 2);
        } else if (!rc) {
            rc = gw_buf_append(out, esc, 6);
        }
        run = p + 1;
    }
    if (!rc)
        rc = gw_buf_append_str(out, run);
    return rc ? rc : gw_buf_append(out, "\"", 1);
}

struct member {
    const cJSON *item;
    size_t order; /* keeps a key given twice in its order */
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int c = strcmp(x->item->string ? x->item->string : "", y->item->string ? y->item->string : "");
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int put_object(const cJSON *v, int top, struct gw_buf *out)
{
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    struct member *m = n ? malloc(n * sizeof *m) : NULL;
    if (n && !m)
        return AIGW_ENOMEM;
    size_t k = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (top && c->string && ignored(c->string))
            continue;
        m[k].item = c;
        m[k].order = k;
        k++;
    }
    if (k > 1)
        qsort(m, k, sizeof *m, member_cmp);
    int rc = gw_buf_append(out, "{", 1);
    for (size_t i = 0; !rc && i < k; i++) {
        if (i)
            rc = gw_buf_append(out, ",", 1);
        if (!rc)
            rc = put_string(out, m[i].item->string ? m[i].item->string : "");
        if (!rc)
            rc = gw_buf_append(out, ":", 1);
        if (!rc)
            rc = gw_cache_canon(m[i].item, 0, out);
    }
    free(m);
    return rc ? rc : gw_buf_append(out, "}", 1);
}

int gw_cache_canon(const cJSON *v, int top, struct gw_buf *out)
{
    if (!v)
        return gw_buf_append(out, "null", 4);
    switch (v->type & 0xff) {
    case cJSON_False:
        return gw_buf_append(out, "false", 5);
    case cJSON_True:
        return gw_buf_append(out, "true", 4);
    case cJSON_NULL:
        return gw_buf_append(out, "null", 4);
    case cJSON_Number:
        return put_number(out, v->valuedouble);
    case cJSON_String:
        return put_string(out, v->valuestring ? v->valuestring : "");
    case cJSON_Raw:
        /* Raw text is never parsed input; hash it as a string so it cannot pose as JSON. */
        return put_string(out, v->valuestring ? v->valuestring : "");
    case cJSON_Array: {
        int rc = gw_buf_append(out, "[", 1);
        for (const cJSON *c = v->child; !rc && c; c = c->next) {
            if (c != v->child)
                rc = gw_buf_append(out, ",", 1);
            if (!rc)
                rc = gw_cache_canon(c, 0, out);
        }
        return rc ? rc : gw_buf_append(out, "]", 1);
    }
    case cJSON_Object:
        return put_object(v, top, out);
    default:
        return AIGW_EINVAL;
    }
}

/* One component: its length (8 bytes, big-endian) then its bytes. */
static int put_field(struct gw_buf *out, const char *p, size_t n)
{
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
    int rc = gw_buf_append(out, len, sizeof len);
    return rc || !n ? rc : gw_buf_append(out, p, n);
}

static int put_str_field(struct gw_buf *out, const char *s)
{
    return put_field(out, s ? s : "", s ? strlen(s) : 0);
}

/* A JSON component: canonical text, length-prefixed after the fact. */
static int put_json_field(struct gw_buf *out, const cJSON *v)
{
    size_t at = out->len;
    int rc = put_field(out, NULL, 0); /* placeholder for the length */
    if (!rc && v)
        rc = gw_cache_canon(v, 1, out);
    if (rc)
        return rc;
    uint64_t n = (uint64_t)(out->len - at - 8);
    for (int i = 0; i < 8; i++)
        ((unsigned char *)out->ptr)[at + (size_t)i] = (unsigned char)(n >> (56 - 8 * i));
    return 0;
}

int gw_cache_key(const struct gw_cache_key_in *in, unsigned char out[GW_CACHE_KEY_BYTES])
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    /* The version string changes whenever the canonical form does: old entries then miss
     * instead of answering a request they were never the answer to. */
    int rc = put_str_field(&b, "aigw-cache-key-1");
    if (!rc)
        rc = put_str_field(&b, in->scope);
    if (!rc)
        rc = put_str_field(&b, in->endpoint);
    if (!rc)
        rc = put_str_field(&b, in->model);
    if (!rc)
        rc = put_str_field(&b, in->provider);
    if (!rc)
        rc = put_json_field(&b, in->body);
    if (!rc)
        rc = put_json_field(&b, in->native);
    if (!rc)
        gw_sha256(b.ptr, b.len, out);
    gw_buf_free(&b);
    return rc;
}

void gw_cache_key_hex(const unsigned char key[GW_CACHE_KEY_BYTES], char out[GW_CACHE_KEY_HEX])
{
    gw_hex(key, GW_CACHE_KEY_BYTES, out);
}
