/* host - the plugin services table (see host.h). */
#include "plugin/host.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/crypto.h"
#include "lib/jsonprint.h"
#include "lib/log.h"
#include "lib/retry_after.h"
#include "lib/utf8.h"
#include "plugin/call.h"
#include "plugin/errors.h"
#include "plugin/oai_compat.h"
#include "plugin/payload.h"
#include "plugin/plugin_loader.h"

static _Thread_local struct gw_plugin *current_plugin;

void gw_host_set_current(struct gw_plugin *p)
{
    current_plugin = p;
}

struct gw_plugin *gw_host_enter(struct gw_plugin *p)
{
    struct gw_plugin *prev = current_plugin;
    current_plugin = p;
    return prev;
}

static void h_log(const struct aigw_call *call, int level, const char *fmt, ...)
{
    const struct gw_call *c = (const struct gw_call *)call;
    const struct gw_plugin *p = c ? c->plugin : current_plugin;
    va_list ap;
    va_start(ap, fmt);
    gw_vlogf(level, p && p->desc.vkey ? p->desc.vkey : "plugin", c ? c->request_id : NULL, fmt, ap);
    va_end(ap);
}

/* Only the calling plugin's own table, as read at load: a provider must not learn another
 * provider's key, and requests must not call getenv(). */
static const char *h_env(const char *name)
{
    return gw_plugin_env(current_plugin, name);
}

static int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t h_unix_time(void)
{
    return (int64_t)time(NULL);
}

static void *h_alloc(struct aigw_call *call, size_t size)
{
    return gw_arena_alloc(&gw_call_of(call)->keep, size);
}

static char *h_strf(struct aigw_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = gw_arena_vprintf(&gw_call_of(call)->keep, fmt, ap);
    va_end(ap);
    return s;
}

static char *h_strndup(struct aigw_call *call, const char *p, size_t n)
{
    return gw_arena_strndup(&gw_call_of(call)->keep, p ? p : "", p ? n : 0);
}

static int h_set_method(struct aigw_call *call, const char *m)
{
    struct gw_call *c = gw_call_of(call);
    c->method = gw_arena_strndup(&c->arena, m, strlen(m));
    return c->method ? 0 : AIGW_ENOMEM;
}

static int h_set_url(struct aigw_call *call, const char *url)
{
    struct gw_call *c = gw_call_of(call);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return AIGW_ECONFIG;
    c->url = gw_arena_strndup(&c->arena, url, strlen(url));
    return c->url ? 0 : AIGW_ENOMEM;
}

static int h_add_header(struct aigw_call *call, const char *name, const char *value, unsigned flags)
{
    struct gw_call *c = gw_call_of(call);
    /* A CR or LF would let a value smuggle another header. */
    if (!name || !value || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return AIGW_EINVAL;
    struct gw_header *h = gw_arena_alloc(&c->arena, sizeof *h);
    if (!h)
        return AIGW_ENOMEM;
    h->name = gw_arena_strndup(&c->arena, name, strlen(name));
    h->value = gw_arena_strndup(&c->arena, value, strlen(value));
    if (!h->name || !h->value)
        return AIGW_ENOMEM;
    h->flags = flags;
    *c->headers_tail = h;
    c->headers_tail = &h->next;
    return 0;
}

static int h_set_body(struct aigw_call *call, const char *p, size_t n)
{
    struct gw_call *c = gw_call_of(call);
    c->body = gw_arena_strndup(&c->arena, p, n);
    c->body_len = n;
    return c->body ? 0 : AIGW_ENOMEM;
}

/* A plugin's JSON printed as cJSON_PrintUnformatted() would, without its malloc per call and
 * its printf round trip per number. The tree is built from a request body of at most
 * max_body_bytes (1 GiB at most) plus what the plugin adds; printing does not grow it. */
#define PRINT_CAP ((size_t)2 << 30)

static int print_json(const cJSON *json, struct gw_buf *b)
{
    gw_buf_init(b, PRINT_CAP);
    int rc = gw_json_print(b, json);
    if (rc == 0 && !b->ptr)
        rc = gw_buf_append(b, "", 0);
    return rc;
}

static int h_set_body_json(struct aigw_call *call, cJSON *json)
{
    if (!json)
        return AIGW_EINVAL;
    struct gw_buf b;
    int rc = print_json(json, &b);
    cJSON_Delete(json);
    if (rc == 0)
        rc = h_set_body(call, b.ptr, b.len);
    gw_buf_free(&b);
    return rc < 0 ? rc : 0;
}

static int h_set_framing(struct aigw_call *call, int framing)
{
    struct gw_call *c = gw_call_of(call);
    if (framing < AIGW_FRAMING_JSON || framing > AIGW_FRAMING_JSON_SEQ)
        return AIGW_EINVAL;
    c->framing = framing;
    c->framing_set = 1;
    return 0;
}

static int h_set_delay_ms(struct aigw_call *call, int64_t ms)
{
    struct gw_call *c = gw_call_of(call);
    c->delay_ms = ms < 0 ? 0 : ms > 60000 ? 60000 : ms;
    return 0;
}

static struct aigw_bytes h_response_header(struct aigw_call *call, const char *name)
{
    struct aigw_bytes b = {NULL, 0};
    const char *v = gw_call_find_header(gw_call_of(call)->resp_headers, name);
    if (v) {
        b.ptr = v;
        b.len = strlen(v);
    }
    return b;
}

/* A copy in call memory that outlives the plugin's callback (NULL stays NULL). */
static const char *keep_str(struct gw_call *c, const char *s)
{
    return s ? gw_arena_strndup(&c->keep, s, strlen(s)) : NULL;
}

/* *b made UTF-8 when it is not (the bad bytes as U+FFFD), in *owned (the caller frees it):
 * every renderer writes these bytes into JSON as they are. */
static int utf8_fix(struct aigw_bytes *b, char **owned)
{
    if (!b->ptr || !b->len || gw_utf8_invalid_at(b->ptr, b->len) == (size_t)-1)
        return 0;
    if (b->len > SIZE_MAX / 3 || !(*owned = malloc(3 * b->len)))
        return AIGW_ENOMEM;
    b->len = gw_utf8_repair(b->ptr, b->len, *owned);
    b->ptr = *owned;
    return 0;
}

/* The chunk's text, name and id made UTF-8, then to the sink. */
static int sink_utf8(struct gw_call *c, struct aigw_chunk *ch)
{
    char *own[3] = {NULL, NULL, NULL};
    int rc = utf8_fix(&ch->text, &own[0]);
    if (!rc)
        rc = utf8_fix(&ch->name, &own[1]);
    if (!rc)
        rc = utf8_fix(&ch->id, &own[2]);
    if (!rc)
        rc = c->sink ? c->sink(c->sink_ud, ch) : 0;
    for (int i = 0; i < 3; i++)
        free(own[i]);
    return rc;
}

static int h_emit(struct aigw_call *call, const struct aigw_chunk *chunk)
{
    struct gw_call *c = gw_call_of(call);
    if (!chunk || chunk->struct_size < offsetof(struct aigw_chunk, usage))
        return AIGW_EINVAL;
    /* Normalize an older, shorter chunk struct into ours. */
    struct aigw_chunk ch;
    memset(&ch, 0, sizeof ch);
    memcpy(&ch, chunk, chunk->struct_size < sizeof ch ? chunk->struct_size : sizeof ch);
    if (ch.type == AIGW_CHUNK_ERROR) {
        /* In-band errors end the response; the gateway decides whether to retry or to tell the
         * client, so they are recorded rather than rendered here. */
        if (!c->has_error && ch.error) {
            struct aigw_error e;
            if (gw_payload_error(chunk->abi_version, ch.error, &e) != 0)
                return AIGW_EINVAL;
            c->error = e;
            c->error.type = keep_str(c, e.type);
            c->error.code = keep_str(c, e.code);
            c->error.param = keep_str(c, e.param);
            c->error.message = keep_str(c, e.message);
            c->has_error = 1;
            c->error_in_band = 1;
            gw_error_scrub(c); /* an error event may echo the request, key and all */
        }
        return 0;
    }
    if (c->has_error)
        return 0;
    /* The usage of a plugin built for 1.0/1.1 has no prefix: the chunk's stamp tells. */
    struct aigw_usage usage;
    if (ch.type == AIGW_CHUNK_USAGE && ch.usage) {
        if (gw_payload_usage(chunk->abi_version, ch.usage, &usage) != 0)
            return AIGW_EINVAL;
        ch.usage = &usage;
    }
    c->chunks_emitted++;
    return sink_utf8(c, &ch);
}

static cJSON *h_json_parse(struct aigw_call *call, struct aigw_bytes b)
{
    return gw_call_json_parse(gw_call_of(call), b.ptr, b.len);
}

static char *h_json_print(struct aigw_call *call, const cJSON *json)
{
    if (!json)
        return NULL;
    struct gw_buf b;
    char *r = print_json(json, &b) == 0 ? h_strndup(call, b.ptr, b.len) : NULL;
    gw_buf_free(&b);
    return r;
}

static char *h_base64_encode(struct aigw_call *call, const void *data, size_t len, int url_safe)
{
    char *out = h_alloc(call, gw_base64_encoded_size(len));
    if (out)
        gw_base64_encode(data, len, url_safe, out);
    return out;
}

static unsigned char *h_base64_decode(struct aigw_call *call, struct aigw_bytes in, size_t *out_len)
{
    unsigned char *out = h_alloc(call, in.len / 4 * 3 + 4);
    if (!out || gw_base64_decode(in.ptr, in.len, out, out_len) != 0)
        return NULL;
    return out;
}

static char *h_rs256_sign(struct aigw_call *call, const char *pem, const void *data, size_t len)
{
    char sig[1400];
    if (gw_rs256_sign(pem, data, len, sig, sizeof sig) != 0)
        return NULL;
    return h_strndup(call, sig, strlen(sig));
}

static char *h_url_encode(struct aigw_call *call, const char *p, size_t n)
{
    static const char hexd[] = "0123456789ABCDEF";
    char *out = h_alloc(call, n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

static const char *h_credential(struct aigw_call *call)
{
    struct gw_call *c = gw_call_of(call);
    struct gw_plugin *p = c->plugin;
    if (!p)
        return NULL;
    const char *tok = NULL;
    pthread_mutex_lock(&p->cred_lock);
    if (p->cred_token && p->cred_expires_ms > h_now_ms())
        tok = h_strndup(call, p->cred_token, strlen(p->cred_token));
    pthread_mutex_unlock(&p->cred_lock);
    return tok;
}

/* A plugin built for 1.0/1.1 hands over the unprefixed error layout; the mapping itself
 * works on the current one. */
static int h_oai_map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    const struct gw_plugin *p = gw_call_of(call)->plugin;
    if (!p || !gw_payload_is_v1_1(p->desc.abi_version))
        return gw_oai_map_error(call, body, err);
    struct aigw_error cur;
    int rc = gw_oai_map_error(call, body, &cur);
    gw_payload_error_to_v1_1(&cur, (struct gw_error_v1_1 *)(void *)err);
    return rc;
}

static int h_finish_from_string(struct aigw_bytes reason)
{
    return gw_finish_from_string(reason);
}

/* Records a refusal as the error the client gets. Clients key on error.code "unsupported";
 * the matching AIGW_ENOTSUP keeps the return code telling the same story as the document. */
static int vfail(struct aigw_call *call, int status, const char *code, const char *param,
                 const char *fmt, va_list ap)
{
    struct gw_call *c = gw_call_of(call);
    char *msg = gw_arena_vprintf(&c->keep, fmt, ap);
    aigw_error_init(&c->error);
    c->error.status = status >= 400 && status <= 599 ? status : 400;
    c->error.type = gw_error_type_for_status(c->error.status);
    c->error.code = code ? gw_arena_strndup(&c->keep, code, strlen(code)) : NULL;
    c->error.param = param ? gw_arena_strndup(&c->keep, param, strlen(param)) : NULL;
    c->error.message = msg;
    c->has_error = 1;
    c->error_in_band = 0;
    return code && strcmp(code, "unsupported") == 0 ? AIGW_ENOTSUP : AIGW_EINVAL;
}

static int h_fail(struct aigw_call *call, int status, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(call, status, NULL, param, fmt, ap);
    va_end(ap);
    return rc;
}

static int h_fail_code(struct aigw_call *call, int status, const char *code, const char *param,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(call, status, code, param, fmt, ap);
    va_end(ap);
    return rc;
}

static const struct aigw_host host_table = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_host),
    .log = h_log,
    .env = h_env,
    .now_ms = h_now_ms,
    .unix_time = h_unix_time,
    .alloc = h_alloc,
    .strf = h_strf,
    .strndup = h_strndup,
    .set_method = h_set_method,
    .set_url = h_set_url,
    .add_header = h_add_header,
    .set_body = h_set_body,
    .set_body_json = h_set_body_json,
    .set_framing = h_set_framing,
    .set_delay_ms = h_set_delay_ms,
    .response_header = h_response_header,
    .emit = h_emit,
    .json_parse = h_json_parse,
    .json_print = h_json_print,
    .sha256 = gw_sha256,
    .hmac_sha256 = gw_hmac_sha256,
    .hex = gw_hex,
    .base64_encode = h_base64_encode,
    .base64_decode = h_base64_decode,
    .rs256_sign = h_rs256_sign,
    .url_encode = h_url_encode,
    .credential = h_credential,
    .oai_request_body = gw_oai_request_body,
    .oai_parse_response = gw_oai_parse_response,
    .oai_stream_event = gw_oai_stream_event,
    .oai_map_error = h_oai_map_error,
    .finish_from_string = h_finish_from_string,
    .fail = h_fail,
    .fail_code = h_fail_code,
    .retry_after_ms = gw_retry_after_ms,
};

const struct aigw_host *gw_host(void)
{
    return &host_table;
}
