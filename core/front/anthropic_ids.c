/* anthropic_ids - tool ids and names every side accepts (see anthropic.h). */
#include "front/anthropic.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/crypto.h"

static int valid_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static int valid(const char *s, size_t n)
{
    if (n == 0 || n > GW_ANTH_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!valid_char(s[i]))
            return 0;
    return 1;
}

/* prefix + the valid characters of s (at most keep) + "_" + 8 hex digits of SHA-256(s). The
 * hash keeps two ids that differ only in dropped characters apart. */
static void mangle(const char *prefix, const char *s, size_t n, size_t keep,
                   char out[GW_ANTH_NAME_MAX + 1])
{
    unsigned char h[32];
    char hex[65];
    size_t o = gw_strlcpy(out, prefix, GW_ANTH_NAME_MAX + 1);
    for (size_t i = 0; i < n && o < strlen(prefix) + keep; i++)
        if (valid_char(s[i]))
            out[o++] = s[i];
    gw_sha256(s, n, h);
    gw_hex(h, 4, hex);
    out[o++] = '_';
    memcpy(out + o, hex, 8);
    out[o + 8] = '\0';
}

void gw_anth_tool_id(const char *id, size_t n, const char *fallback, int idx,
                     char out[GW_ANTH_NAME_MAX + 1])
{
    if (id && valid(id, n)) {
        memcpy(out, id, n);
        out[n] = '\0';
        return;
    }
    if (id && n) {
        /* "toolu_" (6) + 49 + "_" + 8 = 64 */
        mangle("toolu_", id, n, GW_ANTH_NAME_MAX - 6 - 9, out);
        return;
    }
    char idx_s[24];
    gw_fmt_i64(idx_s, sizeof idx_s, idx);
    size_t o = gw_strlcpy(out, "toolu_", GW_ANTH_NAME_MAX + 1);
    for (size_t i = 0; fallback && fallback[i] && o < GW_ANTH_NAME_MAX - 22; i++)
        if (valid_char(fallback[i]))
            out[o++] = fallback[i];
    out[o++] = '_';
    out[o] = '\0';
    gw_strlcpy(out + o, idx_s, GW_ANTH_NAME_MAX + 1 - o);
}

void gw_anth_answer_tool_id(const char *id, size_t n, const char *msg_id, int idx,
                            char out[GW_ANTH_NAME_MAX + 1])
{
    if (id && n >= GW_ANTH_ID_UNIQUE_MIN && valid(id, n)) {
        memcpy(out, id, n);
        out[n] = '\0';
        return;
    }
    /* The message id and the call's place make it unique in the conversation. */
    struct gw_buf seed;
    unsigned char h[32];
    char hex[65];
    gw_buf_init(&seed, 0);
    char idx_s[24];
    gw_fmt_i64(idx_s, sizeof idx_s, idx);
    if (gw_buf_append_strs(&seed, msg_id ? msg_id : "", "/", idx_s, "/", NULL) == 0 && id)
        gw_buf_append(&seed, id, n);
    gw_sha256(seed.ptr ? seed.ptr : "", seed.len, h);
    gw_buf_free(&seed);
    gw_hex(h, 4, hex);
    size_t o = gw_strlcpy(out, "toolu_", GW_ANTH_NAME_MAX + 1);
    for (size_t i = 0; id && i < n && o < 6 + 40; i++)
        if (valid_char(id[i]))
            out[o++] = id[i];
    if (out[o - 1] != '_')
        out[o++] = '_';
    memcpy(out + o, hex, 8);
    out[o + 8] = '\0';
}

int gw_anth_tool_name(const char *name, char out[GW_ANTH_NAME_MAX + 1])
{
    size_t n = strlen(name);
    if (valid(name, n)) {
        memcpy(out, name, n + 1);
        return 0;
    }
    mangle("", name, n, GW_ANTH_NAME_MAX - 9, out);
    return 1;
}

const char *gw_anth_client_name(const struct gw_anth_ctx *ctx, const char *name, size_t n)
{
    for (int i = 0; ctx && i < ctx->nnames; i++)
        if (strlen(ctx->names[i].mapped) == n && !memcmp(ctx->names[i].mapped, name, n))
            return ctx->names[i].client;
    return NULL;
}

void gw_anth_ctx_free(void *p)
{
    struct gw_anth_ctx *ctx = p;
    if (!ctx)
        return;
    for (int i = 0; i < ctx->nnames; i++)
        free(ctx->names[i].client);
    free(ctx->names);
    free(ctx);
}
