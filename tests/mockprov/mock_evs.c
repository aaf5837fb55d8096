/*
 * mock_evs.c - AWS event-stream encoding (Bedrock ConverseStream), so scenarios and fixtures
 * can be written as readable JSON and served as the exact binary frames Bedrock sends:
 *
 *   prelude: total_len u32 BE, headers_len u32 BE, crc32(prelude[0..8)) u32 BE
 *   headers: name_len u8, name, type u8 (7 = string), value_len u16 BE, value
 *   payload, then crc32(everything before) u32 BE
 */
#include <stdlib.h>
#include <string.h>

#include "mock_int.h"

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* The IEEE polynomial (reflected), as zlib and AWS use it. */
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++)
            v = (v & 1) ? 0xedb88320u ^ (v >> 1) : v >> 1;
        crc_table[i] = v;
    }
}

uint32_t mock_crc32(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;

    pthread_once(&crc_once, crc_init);
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

struct obuf {
    char *p;
    size_t len, cap;
    int failed;
};

static void put(struct obuf *b, const void *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *np = cap > MOCK_MAX_BODY ? NULL : realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_u32(struct obuf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}

static int put_header(struct obuf *h, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl == 0 || nl > 255 || vl > 65535) {
        fprintf(stderr, "mockprov: eventstream header %s too long\n", name);
        return -1;
    }
    unsigned char pre[1] = {(unsigned char)nl};
    unsigned char mid[3] = {7, (unsigned char)(vl >> 8), (unsigned char)vl};
    put(h, pre, 1);
    put(h, name, nl);
    put(h, mid, 3);
    put(h, value, vl);
    return 0;
}

static int encode_one(const cJSON *msg, struct obuf *out)
{
    struct obuf h = {0};
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(msg, "event");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(msg, "exception");
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(msg, "error_code");
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(msg, "error_message");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(msg, "headers");
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(msg, "payload");
    char *printed = NULL;
    const char *payload = "";
    int rc = -1;

    if (!cJSON_IsObject(msg))
        goto bad;
    /* Bedrock's own header order, so a byte comparison with a recording can hold. */
    if (cJSON_IsString(ev)) {
        if (put_header(&h, ":event-type", ev->valuestring) ||
            put_header(&h, ":content-type", "application/json") ||
            put_header(&h, ":message-type", "event"))
            goto out;
    } else if (cJSON_IsString(ex)) {
        if (put_header(&h, ":exception-type", ex->valuestring) ||
            put_header(&h, ":content-type", "application/json") ||
            put_header(&h, ":message-type", "exception"))
            goto out;
    } else if (cJSON_IsString(ec)) {
        if (put_header(&h, ":error-code", ec->valuestring) ||
            put_header(&h, ":error-message", cJSON_IsString(em) ? em->valuestring : "") ||
            put_header(&h, ":message-type", "error"))
            goto out;
    }
    if (hs) {
        if (!cJSON_IsObject(hs))
            goto bad;
        for (const cJSON *it = hs->child; it; it = it->next) {
            if (!cJSON_IsString(it))
                goto bad;
            if (put_header(&h, it->string, it->valuestring))
                goto out;
        }
    }
    if (cJSON_IsString(pl)) {
        payload = pl->valuestring;
    } else if (pl) {
        printed = cJSON_PrintUnformatted(pl);
        if (!printed)
            goto out;
        payload = printed;
    }
    if (h.failed)
        goto out;
    size_t plen = strlen(payload);
    size_t total = 12 + h.len + plen + 4;
    if (total > MOCK_MAX_BODY)
        goto out;
    size_t start = out->len;
    put_u32(out, (uint32_t)total);
    put_u32(out, (uint32_t)h.len);
    if (out->failed)
        goto out;
    put_u32(out, mock_crc32(out->p + start, 8));
    if (h.len)
        put(out, h.p, h.len);
    put(out, payload, plen);
    if (out->failed)
        goto out;
    put_u32(out, mock_crc32(out->p + start, out->len - start));
    rc = out->failed ? -1 : 0;
    goto out;
bad:
    fprintf(stderr, "mockprov: an eventstream message is an object with \"event\" | "
                    "\"exception\" | \"error_code\", \"headers\"?, \"payload\"?\n");
out:
    free(h.p);
    free(printed);
    return rc;
}

int mock_eventstream_encode(const char *json, size_t len, char **out, size_t *out_len)
{
    struct obuf b = {0};
    size_t i = 0;

    while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t'))
        i++;
    if (i < len && json[i] == '[') {
        cJSON *arr = cJSON_ParseWithLength(json, len);
        if (!cJSON_IsArray(arr)) {
            cJSON_Delete(arr);
            fprintf(stderr, "mockprov: eventstream source is not a JSON array\n");
            return -1;
        }
        for (const cJSON *it = arr->child; it; it = it->next)
            if (encode_one(it, &b)) {
                cJSON_Delete(arr);
                free(b.p);
                return -1;
            }
        cJSON_Delete(arr);
    } else {
        int line = 0;
        while (i < len) {
            const char *nl = memchr(json + i, '\n', len - i);
            size_t end = nl ? (size_t)(nl - json) : len;
            size_t k = i;
            line++;
            while (k < end && (json[k] == ' ' || json[k] == '\t' || json[k] == '\r'))
                k++;
            if (k < end) {
                cJSON *msg = cJSON_ParseWithLength(json + k, end - k);
                int rc = msg ? encode_one(msg, &b) : -1;
                cJSON_Delete(msg);
                if (rc) {
                    fprintf(stderr, "mockprov: eventstream source line %d is bad\n", line);
                    free(b.p);
                    return -1;
                }
            }
            i = end + 1;
        }
    }
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p ? b.p : calloc(1, 1);
    *out_len = b.len;
    return *out ? 0 : -1;
}
