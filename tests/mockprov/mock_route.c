/*
 * mock_route.c - routes: compiled from the struct (the JSON form, mock_route_json.c, fills
 * the same struct) and matched against a recorded request. A route is built once and never changes
 * afterwards (see mock_int.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_int.h"

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup_s(const char *s)
{
    return s ? dup_n(s, strlen(s)) : NULL;
}

static void pairs_free(struct mpair *p, int n)
{
    for (int i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

int mpair_add(struct mpair **p, int *n, const char *name, size_t nlen, const char *value,
              size_t vlen)
{
    struct mpair *np = realloc(*p, sizeof **p * (size_t)(*n + 1));
    if (!np)
        return -1;
    *p = np;
    np[*n].name = dup_n(name, nlen);
    np[*n].value = value ? dup_n(value, vlen) : NULL;
    if (!np[*n].name || (value && !np[*n].value)) {
        free(np[*n].name);
        free(np[*n].value);
        return -1;
    }
    (*n)++;
    return 0;
}

static const char *pair_get(const struct mpair *p, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(p[i].name, name) == 0)
            return p[i].value;
    return NULL;
}

static int is_sp(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* "Name: value" lines; with `negate`, "!Name" means "must be absent" (value NULL). */
static int parse_lines(const char *s, int negate, struct mpair **p, int *n)
{
    while (s && *s) {
        const char *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        const char *b = s, *e = s + len;
        s = eol ? eol + 1 : s + len;
        while (b < e && is_sp(*b))
            b++;
        while (e > b && is_sp(e[-1]))
            e--;
        if (b == e)
            continue;
        if (negate && *b == '!') {
            if (mpair_add(p, n, b + 1, (size_t)(e - b - 1), NULL, 0))
                return -1;
            continue;
        }
        const char *colon = memchr(b, ':', (size_t)(e - b));
        if (!colon) {
            fprintf(stderr, "mockprov: header line without ':': %.*s\n", (int)(e - b), b);
            return -1;
        }
        const char *v = colon + 1;
        while (v < e && is_sp(*v))
            v++;
        if (mpair_add(p, n, b, (size_t)(colon - b), v, (size_t)(e - v)))
            return -1;
    }
    return 0;
}

/* "a=glob&!b" */
static int parse_query_spec(const char *s, struct mpair **p, int *n)
{
    while (s && *s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        int rc;
        if (len == 0)
            rc = 0;
        else if (*s == '!')
            rc = mpair_add(p, n, s + 1, len - 1, NULL, 0);
        else if (!eq)
            rc = mpair_add(p, n, s, len, "*", 1);
        else
            rc = mpair_add(p, n, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq - s) - 1);
        if (rc)
            return -1;
        s = amp ? amp + 1 : s + len;
    }
    return 0;
}

int mock_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mockprov: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            char *nb = cap >= MOCK_MAX_BODY ? NULL : realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf || err) {
        free(buf);
        fprintf(stderr, "mockprov: cannot read %s (error or over %u bytes)\n", path, MOCK_MAX_BODY);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int read_fixture(const char *fixtures, const char *rel, char **out, size_t *len)
{
    char path[PATH_MAX];
    int w = rel[0] == '/' ? snprintf(path, sizeof path, "%s", rel)
                          : snprintf(path, sizeof path, "%s/%s", fixtures, rel);
    if (w < 0 || (size_t)w >= sizeof path)
        return -1;
    return mock_read_file(path, out, len);
}

int mock_glob(const char *pat, const char *s, int slash_stops)
{
    while (*pat) {
        if (*pat == '*') {
            int any = !slash_stops || pat[1] == '*';
            while (*pat == '*')
                pat++;
            for (const char *t = s;; t++) {
                if (mock_glob(pat, t, slash_stops))
                    return 1;
                if (!*t || (!any && *t == '/'))
                    return 0;
            }
        }
        if (*pat != *s)
            return 0;
        pat++;
        s++;
    }
    return *s == '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static const char *infer_type(const struct mock_route *in, const char *body, size_t len)
{
    if (in->encode)
        return "application/vnd.amazon.eventstream";
    if (in->body_file) {
        const char *f = in->body_file;
        if (ends_with(f, ".json"))
            return "application/json";
        if (ends_with(f, ".sse"))
            return "text/event-stream";
        if (ends_with(f, ".ndjson") || ends_with(f, ".jsonl"))
            return "application/x-ndjson";
        if (ends_with(f, ".bin") || ends_with(f, ".eventstream"))
            return "application/vnd.amazon.eventstream";
        return "text/plain";
    }
    if (len == 0)
        return NULL;
    return (body[0] == '{' || body[0] == '[') ? "application/json" : "text/plain";
}

static int parse_chunking(struct mroute *rt, const char *spec)
{
    const char *ct = pair_get(rt->hdrs, rt->nhdrs, "content-type");
    if (!spec || strcmp(spec, "auto") == 0) {
        rt->chunk = MCHUNK_WHOLE;
        if (ct && strstr(ct, "amazon.eventstream"))
            rt->chunk = MCHUNK_FRAMES;
        else if (ct && strstr(ct, "event-stream"))
            rt->chunk = MCHUNK_EVENTS;
        else if (ct && strstr(ct, "ndjson"))
            rt->chunk = MCHUNK_LINES;
        return 0;
    }
    if (strcmp(spec, "whole") == 0)
        rt->chunk = MCHUNK_WHOLE;
    else if (strcmp(spec, "events") == 0)
        rt->chunk = MCHUNK_EVENTS;
    else if (strcmp(spec, "lines") == 0)
        rt->chunk = MCHUNK_LINES;
    else if (strcmp(spec, "frames") == 0)
        rt->chunk = MCHUNK_FRAMES;
    else if (strncmp(spec, "bytes:", 6) == 0) {
        char *end;
        errno = 0;
        long v = strtol(spec + 6, &end, 10);
        if (errno || *end || v <= 0 || v > INT_MAX)
            goto bad;
        rt->chunk = MCHUNK_BYTES;
        rt->chunk_size = (size_t)v;
    } else
        goto bad;
    return 0;
bad:
    fprintf(stderr, "mockprov: bad chunking \"%s\" (auto|whole|events|lines|frames|bytes:N)\n",
            spec);
    return -1;
}

/* The shared half of both constructors. `rt` may already hold match/header lists that the
 * JSON form filled directly; the struct's string forms are parsed only where it does not. */
struct mroute *mroute_build(struct mroute *rt, const struct mock_route *in, const char *fixtures)
{
    rt->name = dup_s(in->name ? in->name : "");
    rt->method = (in->method && strcmp(in->method, "*") != 0) ? dup_s(in->method) : NULL;
    rt->path = dup_s(in->path ? in->path : "**");
    if (!rt->name || !rt->path)
        goto fail;
    if (in->match_body && !rt->match_body) {
        rt->match_body = cJSON_Parse(in->match_body);
        if (!rt->match_body) {
            fprintf(stderr, "mockprov: route %s: match_body is not JSON\n", rt->name);
            goto fail;
        }
    }
    if (!rt->mh && parse_lines(in->match_headers, 1, &rt->mh, &rt->nmh))
        goto fail;
    if (!rt->mq && parse_query_spec(in->match_query, &rt->mq, &rt->nmq))
        goto fail;
    if (!rt->hdrs && parse_lines(in->headers, 0, &rt->hdrs, &rt->nhdrs))
        goto fail;
    rt->times = in->times > 0 ? in->times : 0;
    rt->status = in->status ? in->status : 200;

    if (in->body_file) {
        if (read_fixture(fixtures, in->body_file, &rt->body, &rt->body_len))
            goto fail;
    } else {
        size_t n = in->body ? (in->body_len ? in->body_len : strlen(in->body)) : 0;
        rt->body = dup_n(in->body ? in->body : "", n);
        rt->body_len = n;
        if (!rt->body)
            goto fail;
    }
    if (in->encode) {
        char *bin;
        size_t blen;
        if (strcmp(in->encode, "eventstream") != 0) {
            fprintf(stderr, "mockprov: route %s: unknown encode \"%s\"\n", rt->name, in->encode);
            goto fail;
        }
        if (mock_eventstream_encode(rt->body, rt->body_len, &bin, &blen))
            goto fail;
        free(rt->body);
        rt->body = bin;
        rt->body_len = blen;
    }
    const char *ct = infer_type(in, rt->body, rt->body_len);
    if (ct && !pair_get(rt->hdrs, rt->nhdrs, "content-type") &&
        mpair_add(&rt->hdrs, &rt->nhdrs, "Content-Type", 12, ct, strlen(ct)))
        goto fail;
    if (parse_chunking(rt, in->chunking))
        goto fail;
    if (in->drip) {
        rt->chunk = MCHUNK_BYTES;
        rt->chunk_size = 1;
    }

    rt->headers_delay_ms = in->headers_delay_ms < 0 ? -1 : in->headers_delay_ms;
    rt->body_delay_ms = in->body_delay_ms < 0 ? -1 : in->body_delay_ms;
    rt->chunk_delay_ms = in->chunk_delay_ms > 0 ? in->chunk_delay_ms : 0;
    rt->stall_at = in->stall_after_bytes > 0 ? in->stall_after_bytes : -1;
    rt->stall_chunks = in->stall_after_chunks > 0 ? in->stall_after_chunks : -1;
    rt->close_at = in->close_after_headers     ? 0
                   : in->close_after_bytes > 0 ? in->close_after_bytes
                                               : -1;
    rt->close_chunks = in->close_after_chunks > 0 ? in->close_after_chunks : -1;
    rt->close_before_headers = !!in->close_before_headers;
    rt->truncate_at = in->truncate_at > 0 ? in->truncate_at : -1;
    rt->inject_after = -1;
    if (in->inject || in->inject_file) {
        if (in->inject_file) {
            if (read_fixture(fixtures, in->inject_file, &rt->inject, &rt->inject_len))
                goto fail;
        } else {
            rt->inject = dup_s(in->inject);
            rt->inject_len = strlen(in->inject);
            if (!rt->inject)
                goto fail;
        }
        rt->inject_after = in->inject_after_chunks > 0 ? in->inject_after_chunks : 0;
        rt->inject_end = !!in->inject_end;
    }
    /* Anything paced or cut must go out chunked: a Content-Length would let the client see
     * the end coming, which real streaming upstreams never announce. */
    rt->streamed = rt->chunk != MCHUNK_WHOLE || rt->body_delay_ms || rt->chunk_delay_ms ||
                   rt->stall_at >= 0 || rt->stall_chunks >= 0 || rt->close_at >= 0 ||
                   rt->close_chunks >= 0 || rt->inject_after >= 0;
    return rt;
fail:
    mroute_free(rt);
    return NULL;
}

struct mroute *mroute_from_struct(const struct mock_route *in, const char *fixtures)
{
    struct mroute *rt = calloc(1, sizeof *rt);
    return rt ? mroute_build(rt, in, fixtures) : NULL;
}

void mroute_free(struct mroute *rt)
{
    if (!rt)
        return;
    free(rt->name);
    free(rt->method);
    free(rt->path);
    cJSON_Delete(rt->match_body);
    pairs_free(rt->mh, rt->nmh);
    pairs_free(rt->mq, rt->nmq);
    pairs_free(rt->hdrs, rt->nhdrs);
    free(rt->body);
    free(rt->inject);
    free(rt);
}

/* ---- matching ---------------------------------------------------------------------------- */

static int jmatch(const cJSON *pat, const cJSON *act)
{
    if (cJSON_IsNull(pat))
        return !act || cJSON_IsNull(act);
    if (!act)
        return 0;
    if (cJSON_IsString(pat) && strcmp(pat->valuestring, "*") == 0)
        return !cJSON_IsNull(act);
    if (cJSON_IsObject(pat)) {
        if (!cJSON_IsObject(act))
            return 0;
        for (const cJSON *it = pat->child; it; it = it->next)
            if (!jmatch(it, cJSON_GetObjectItemCaseSensitive(act, it->string)))
                return 0;
        return 1;
    }
    if (cJSON_IsArray(pat)) {
        if (!cJSON_IsArray(act) || cJSON_GetArraySize(pat) != cJSON_GetArraySize(act))
            return 0;
        for (const cJSON *a = pat->child, *b = act->child; a && b; a = a->next, b = b->next)
            if (!jmatch(a, b))
                return 0;
        return 1;
    }
    return cJSON_Compare(pat, act, 1);
}

static int pairs_match(const struct mpair *want, int nwant, const struct mpair *have, int nhave)
{
    for (int i = 0; i < nwant; i++) {
        const char *v = NULL;
        int found = 0;
        for (int k = 0; k < nhave && !found; k++)
            if (strcasecmp(have[k].name, want[i].name) == 0) {
                found = 1;
                v = have[k].value;
            }
        if (!want[i].value) {
            if (found)
                return 0;
        } else if (!found || !mock_glob(want[i].value, v ? v : "", 0)) {
            return 0;
        }
    }
    return 1;
}

int mroute_matches(const struct mroute *rt, const struct mock_req *rec)
{
    if (rt->method && strcmp(rt->method, rec->method) != 0)
        return 0;
    if (!mock_glob(rt->path, rec->path, 1))
        return 0;
    if (!pairs_match(rt->mh, rt->nmh, rec->hdrs, rec->nhdrs))
        return 0;
    if (!pairs_match(rt->mq, rt->nmq, rec->qp, rec->nqp))
        return 0;
    if (rt->match_body && !jmatch(rt->match_body, mock_req_json(rec)))
        return 0;
    return 1;
}
