/* chunklog - a cached answer as a compact log of normalized chunks (see chunklog.h). */
#include "cache/chunklog.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define MAGIC "AGC1"
#define MAGIC_LEN 4
#define EMBED_MAX (1u << 20) /* doubles in one embedding, far above any model's */

/* ---- writing ------------------------------------------------------------------------------ */

static int put_varint(struct gw_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    return gw_buf_append(b, tmp, n);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int put_bytes(struct gw_buf *b, const char *p, size_t n)
{
    int rc = put_varint(b, n);
    return rc || !n ? rc : gw_buf_append(b, p, n);
}

static int recordable(int type)
{
    switch (type) {
    case AIGW_CHUNK_META:
    case AIGW_CHUNK_TEXT:
    case AIGW_CHUNK_REASONING:
    case AIGW_CHUNK_REFUSAL:
    case AIGW_CHUNK_TOOL_CALL:
    case AIGW_CHUNK_FINISH:
    case AIGW_CHUNK_USAGE:
    case AIGW_CHUNK_EMBEDDING:
    case AIGW_CHUNK_EXTRA:
    case AIGW_CHUNK_REASONING_SIGNATURE:
    case AIGW_CHUNK_REASONING_REDACTED:
        return 1;
    default:
        return 0; /* errors end an answer; images and listings are never cached */
    }
}

void gw_cache_rec_init(struct gw_cache_rec *rec, size_t cap)
{
    memset(rec, 0, sizeof *rec);
    gw_buf_init(&rec->log, cap);
}

void gw_cache_rec_free(struct gw_cache_rec *rec)
{
    gw_buf_free(&rec->log);
}

void gw_cache_rec_reset(struct gw_cache_rec *rec)
{
    gw_buf_reset(&rec->log);
    rec->finishes = rec->items = rec->unusable = 0;
}

static int put_record(struct gw_buf *b, const struct aigw_chunk *c)
{
    if (c->choice < 0 || c->tool_index < 0 || c->finish < 0)
        return AIGW_EINVAL;
    unsigned char type = (unsigned char)c->type;
    int rc = b->len ? 0 : gw_buf_append(b, MAGIC, MAGIC_LEN);
    if (!rc)
        rc = gw_buf_append(b, &type, 1);
    if (!rc)
        rc = put_varint(b, (uint64_t)c->choice);
    if (!rc)
        rc = put_varint(b, (uint64_t)c->tool_index);
    if (!rc)
        rc = put_varint(b, (uint64_t)c->finish);
    /* META keeps the model only: a replay is a response of its own, with its own id. */
    int meta = c->type == AIGW_CHUNK_META;
    if (!rc)
        rc = meta ? put_bytes(b, NULL, 0) : put_bytes(b, c->id.ptr, c->id.len);
    if (!rc)
        rc = put_bytes(b, c->name.ptr, c->name.len);
    if (!rc)
        rc = meta ? put_bytes(b, NULL, 0) : put_bytes(b, c->text.ptr, c->text.len);
    if (rc)
        return rc;
    if (c->type == AIGW_CHUNK_USAGE) {
        struct aigw_usage u;
        aigw_usage_init(&u);
        if (c->usage)
            u = *c->usage;
        const int64_t v[5] = {u.prompt_tokens, u.completion_tokens, u.cached_tokens,
                              u.cache_write_tokens, u.reasoning_tokens};
        for (int i = 0; !rc && i < 5; i++)
            rc = put_varint(b, zigzag(v[i]));
    } else if (c->type == AIGW_CHUNK_EMBEDDING) {
        if (c->vector_len > EMBED_MAX || (c->vector_len && !c->vector))
            return AIGW_EINVAL;
        rc = put_varint(b, c->vector_len);
        for (size_t i = 0; !rc && i < c->vector_len; i++) {
            uint64_t bits;
            unsigned char le[8];
            memcpy(&bits, &c->vector[i], 8);
            for (int k = 0; k < 8; k++)
                le[k] = (unsigned char)(bits >> (8 * k));
            rc = gw_buf_append(b, le, 8);
        }
    } else if (c->type == AIGW_CHUNK_EXTRA) {
        char *json = c->extra ? cJSON_PrintUnformatted(c->extra) : NULL;
        if (!json)
            return AIGW_EINVAL;
        rc = put_bytes(b, json, strlen(json));
        cJSON_free(json);
    }
    return rc;
}

void gw_cache_rec_add(struct gw_cache_rec *rec, const struct aigw_chunk *c)
{
    if (rec->unusable)
        return;
    if (!recordable(c->type) ||
        (c->type == AIGW_CHUNK_FINISH && c->finish == AIGW_FINISH_CONTENT_FILTER)) {
        rec->unusable = 1;
        return;
    }
    if (put_record(&rec->log, c) < 0) {
        rec->unusable = 1;
        gw_buf_free(&rec->log); /* past the cap: nothing of it will be kept */
        return;
    }
    rec->finishes += c->type == AIGW_CHUNK_FINISH;
    rec->items += c->type == AIGW_CHUNK_EMBEDDING;
}

int gw_cache_rec_complete(const struct gw_cache_rec *rec)
{
    return !rec->unusable && rec->log.len > 0 && (rec->finishes > 0 || rec->items > 0);
}

/* ---- reading ------------------------------------------------------------------------------ */

struct reader {
    const unsigned char *p, *end;
};

static int get_varint(struct reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return AIGW_EPROTO;
        unsigned char byte = *r->p++;
        if (shift == 63 && (byte & 0x7e))
            return AIGW_EPROTO; /* more than 64 bits */
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return AIGW_EPROTO;
}

static int get_int(struct reader *r, int *out)
{
    uint64_t v;
    if (get_varint(r, &v) < 0 || v > INT_MAX)
        return AIGW_EPROTO;
    *out = (int)v;
    return 0;
}

static int get_bytes(struct reader *r, struct aigw_bytes *out)
{
    uint64_t n;
    if (get_varint(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
        return AIGW_EPROTO;
    out->ptr = n ? (const char *)r->p : NULL;
    out->len = (size_t)n;
    r->p += n;
    return 0;
}

/* One record into c (its pointers into the log, or into the scratch: usage, vec, extra).
 * vec is malloc'ed for an embedding, extra parsed for EXTRA: the caller frees both. */
static int get_record(struct reader *r, struct aigw_chunk *c, struct aigw_usage *u, double **vec,
                      cJSON **extra)
{
    int type = *r->p++;
    if (!recordable(type))
        return AIGW_EPROTO;
    *c = aigw_chunk_init(type, 0);
    if (get_int(r, &c->choice) < 0 || get_int(r, &c->tool_index) < 0 ||
        get_int(r, &c->finish) < 0 || get_bytes(r, &c->id) < 0 || get_bytes(r, &c->name) < 0 ||
        get_bytes(r, &c->text) < 0)
        return AIGW_EPROTO;
    /* What the recorder never keeps is never replayed, whoever wrote the log. */
    if (c->finish > AIGW_FINISH_FUNCTION_CALL ||
        (type == AIGW_CHUNK_FINISH && c->finish == AIGW_FINISH_CONTENT_FILTER))
        return AIGW_EPROTO;
    if (type == AIGW_CHUNK_USAGE) {
        int64_t v[5];
        for (int i = 0; i < 5; i++) {
            uint64_t z;
            if (get_varint(r, &z) < 0)
                return AIGW_EPROTO;
            v[i] = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            if (v[i] < -1)
                return AIGW_EPROTO;
        }
        aigw_usage_init(u); /* the 1.2 size prefix, as every usage the lifetime sees has */
        u->prompt_tokens = v[0];
        u->completion_tokens = v[1];
        u->cached_tokens = v[2];
        u->cache_write_tokens = v[3];
        u->reasoning_tokens = v[4];
        c->usage = u;
    } else if (type == AIGW_CHUNK_EMBEDDING) {
        uint64_t n;
        if (get_varint(r, &n) < 0 || n > EMBED_MAX || n * 8 > (uint64_t)(r->end - r->p))
            return AIGW_EPROTO;
        double *v = n ? malloc((size_t)n * sizeof *v) : NULL;
        if (n && !v)
            return AIGW_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            uint64_t bits = 0;
            for (int k = 0; k < 8; k++)
                bits |= (uint64_t)r->p[k] << (8 * k);
            memcpy(&v[i], &bits, 8);
            r->p += 8;
            if (!isfinite(v[i])) {
                free(v);
                return AIGW_EPROTO;
            }
        }
        *vec = v;
        c->vector = v;
        c->vector_len = (size_t)n;
    } else if (type == AIGW_CHUNK_EXTRA) {
        struct aigw_bytes j;
        if (get_bytes(r, &j) < 0 || !j.len || !c->name.len)
            return AIGW_EPROTO;
        *extra = cJSON_ParseWithLength(j.ptr, j.len);
        if (!*extra)
            return AIGW_EPROTO;
        c->extra = *extra;
    }
    return 0;
}

/* Records from *pos (0: the start) to the end, each to emit; before each, gate(ud) may say
 * pause (1: *pos is where to go on) or stop (negative). */
static int walk_from(const void *data, size_t len, size_t *pos,
                     int (*emit)(void *ud, const struct aigw_chunk *c), int (*gate)(void *ud),
                     void *ud)
{
    if (len < MAGIC_LEN || memcmp(data, MAGIC, MAGIC_LEN) != 0 || *pos > len)
        return AIGW_EPROTO;
    if (*pos == 0) {
        *pos = MAGIC_LEN;
        if (len == MAGIC_LEN)
            return AIGW_EPROTO; /* an answer has at least one chunk */
    }
    struct reader r = {(const unsigned char *)data + *pos, (const unsigned char *)data + len};
    while (r.p < r.end) {
        if (gate) {
            int g = gate(ud);
            if (g != 0)
                return g;
        }
        struct aigw_chunk c;
        struct aigw_usage u;
        double *vec = NULL;
        cJSON *extra = NULL;
        int rc = get_record(&r, &c, &u, &vec, &extra);
        if (!rc && emit)
            rc = emit(ud, &c);
        free(vec);
        cJSON_Delete(extra);
        *pos = (size_t)(r.p - (const unsigned char *)data);
        if (rc)
            return rc; /* negative: an error; positive: emit is done */
    }
    return 0;
}

static int walk(const void *data, size_t len, int (*emit)(void *ud, const struct aigw_chunk *c),
                void *ud)
{
    size_t pos = 0;
    return walk_from(data, len, &pos, emit, NULL, ud);
}

int gw_cache_log_check(const void *data, size_t len)
{
    return walk(data, len, NULL, NULL) < 0 ? AIGW_EPROTO : 0;
}

int gw_cache_log_replay(const void *data, size_t len,
                        int (*emit)(void *ud, const struct aigw_chunk *c), void *ud)
{
    return walk(data, len, emit, ud);
}

int gw_cache_log_replay_some(const void *data, size_t len, size_t *pos,
                             int (*emit)(void *ud, const struct aigw_chunk *c),
                             int (*gate)(void *ud), void *ud)
{
    return walk_from(data, len, pos, emit, gate, ud);
}

struct model_find {
    char *out;
    size_t size;
};

static int find_model(void *ud, const struct aigw_chunk *c)
{
    struct model_find *f = ud;
    if (c->type != AIGW_CHUNK_META || !c->name.len)
        return 0;
    size_t n = c->name.len < f->size - 1 ? c->name.len : f->size - 1;
    memcpy(f->out, c->name.ptr, n);
    f->out[n] = '\0';
    return 1; /* found: stop walking (a positive result is not an error) */
}

void gw_cache_log_model(const void *data, size_t len, char *out, size_t size)
{
    if (!size)
        return;
    out[0] = '\0';
    struct model_find f = {out, size};
    walk(data, len, find_model, &f);
}
