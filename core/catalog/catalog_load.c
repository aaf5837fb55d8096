/*
 * catalog_load - reading catalog/models.json. The outer object is walked by a small scanner
 * and every entry of "models" is parsed by cJSON on its own and freed at once: a whole-file
 * cJSON tree is ~150k nodes and takes about twice as long to build and free as the entries it
 * holds. cJSON still validates every value; the scanner only finds where values end.
 */
#include "catalog/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "catalog/catalog_int.h"
#include "lib/pages.h"

#ifndef AIGW_DATA_DIR
#define AIGW_DATA_DIR "/usr/local/share/aigw"
#endif

/* A JSON syntax error; reported with its line and column. */
#define SYNTAX 1

const char *gw_catalog_default_path(void)
{
    const char *env = getenv(GW_CATALOG_ENV);
    return env && *env ? env : AIGW_DATA_DIR "/" GW_CATALOG_FILE;
}

static char *skip_ws(char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static char *skip_string(char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p == '"' ? p + 1 : NULL;
}

/* The end of the JSON value at p: brackets balanced, strings skipped. NULL when there is no
 * well-bracketed value. */
static char *skip_value(char *p)
{
    int depth = 0;
    do {
        p = skip_ws(p);
        if (*p == '"') {
            if (!(p = skip_string(p)))
                return NULL;
        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (--depth < 0)
                return NULL;
            p++;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0)
                return NULL;
            p++;
        } else if (*p) {
            while (*p && !strchr(" \t\r\n,:[]{}\"", *p))
                p++;
        } else {
            return NULL;
        }
    } while (depth > 0);
    return p;
}

/* cJSON needs a terminator after the value: the byte at `end` is borrowed for it. */
static cJSON *parse_span(char *p, char *end, char **errat)
{
    const char *e = NULL;
    char save = *end;
    *end = '\0';
    cJSON *v = cJSON_ParseWithOpts(p, &e, 1);
    *end = save;
    if (!v)
        *errat = e ? (char *)e : p;
    return v;
}

struct walk {
    struct gw_catalog *cat;
    const char *name;
    char *err;
    size_t errlen;
    char *errat; /* where a syntax error is */
    int have_models, format_ok;
    double version;
};

/* The "models" array whose '[' is at p; returns the position after its ']'. */
static char *walk_models(struct walk *w, char *p, int *rc)
{
    p = skip_ws(p + 1);
    for (size_t k = 0; *p != ']'; k++) {
        char *end = skip_value(p);
        cJSON *it = end ? parse_span(p, end, &w->errat) : NULL;
        if (!it) {
            w->errat = end ? w->errat : p;
            *rc = SYNTAX;
            return p;
        }
        struct gw_entry_ctx c = {w->name, NULL, k, NULL, NULL, 0, w->err, w->errlen};
        *rc = gw_catalog_add(w->cat, it, &c);
        cJSON_Delete(it);
        if (*rc)
            return p;
        p = skip_ws(end);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p != ']')
            return w->errat = p, *rc = SYNTAX, p;
    }
    w->have_models = 1;
    return p + 1;
}

/* One "key": value member of the outer object at p; returns the position after it. */
static char *walk_member(struct walk *w, char *p, int *rc)
{
    char *key = p, *kend = *p == '"' ? skip_string(p) : NULL;
    char *colon = kend ? skip_ws(kend) : p;
    size_t klen = kend ? (size_t)(kend - key) : 0;
    if (*colon != ':')
        return w->errat = colon, *rc = SYNTAX, p;
    p = skip_ws(colon + 1);
    if (klen == 8 && memcmp(key, "\"models\"", 8) == 0 && *p == '[')
        return walk_models(w, p, rc);
    char *end = skip_value(p);
    cJSON *v = end ? parse_span(p, end, &w->errat) : NULL;
    if (!v)
        return w->errat = end ? w->errat : p, *rc = SYNTAX, p;
    if (klen == 8 && memcmp(key, "\"format\"", 8) == 0)
        w->format_ok = cJSON_IsString(v) && strcmp(v->valuestring, "aigw-catalog") == 0;
    else if (klen == 9 && memcmp(key, "\"version\"", 9) == 0)
        w->version = cJSON_IsNumber(v) ? v->valuedouble : -1;
    else if (klen == 8 && memcmp(key, "\"models\"", 8) == 0)
        w->have_models = -1; /* present, but not an array */
    cJSON_Delete(v);
    return end;
}

static void line_col(const char *text, const char *at, int *line, int *col)
{
    *line = *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n')
            ++*line, *col = 1;
        else
            ++*col;
    }
}

/* text is NUL-terminated and ours: parse_span() borrows bytes of it. */
static int parse_text(char *text, const char *name, struct gw_catalog **out, char *err,
                      size_t errlen)
{
    struct walk w = {gw_catalog_new(), name, err, errlen, NULL, 0, 0, 0};
    char *p = skip_ws(text);
    int rc = 0, line, col;
    if (!w.cat)
        return gw_catalog_seterr(err, errlen, "%s: out of memory", name), AIGW_ENOMEM;
    if (*p == '{')
        p = skip_ws(p + 1);
    else
        w.errat = p, rc = SYNTAX;
    while (!rc && *p != '}') {
        p = skip_ws(walk_member(&w, p, &rc));
        if (!rc && *p == ',')
            p = skip_ws(p + 1);
        else if (!rc && *p != '}')
            w.errat = p, rc = SYNTAX;
    }
    if (!rc && *skip_ws(p + 1))
        w.errat = skip_ws(p + 1), rc = SYNTAX;
    if (rc == SYNTAX) {
        line_col(text, w.errat ? w.errat : text, &line, &col);
        rc = gw_catalog_seterr(err, errlen, "%s: not valid JSON (line %d, column %d)", name, line,
                               col);
    } else if (!rc && !w.format_ok) {
        rc = gw_catalog_seterr(err, errlen,
                               "%s: not an aigw model catalog (no \"format\": "
                               "\"aigw-catalog\")",
                               name);
    } else if (!rc && w.version != 1) {
        rc = gw_catalog_seterr(err, errlen,
                               "%s: catalog version %g is not supported (this "
                               "aigw reads version 1)",
                               name, w.version);
    } else if (!rc && w.have_models != 1) {
        rc = gw_catalog_seterr(err, errlen, "%s: \"models\" must be an array of entries", name);
    } else if (rc == AIGW_ENOMEM || rc == AIGW_ETOOBIG) {
        gw_catalog_seterr(err, errlen, "%s: %s", name,
                          rc == AIGW_ENOMEM ? "out of memory" : "too many entries");
    }
    if (!rc)
        rc = gw_catalog_finish(w.cat, name, err, errlen);
    if (rc) {
        gw_catalog_free(w.cat);
        return rc;
    }
    *out = w.cat;
    return 0;
}

int gw_catalog_parse(const char *text, size_t len, const char *name, struct gw_catalog **out,
                     char *err, size_t errlen)
{
    if (!text || !out)
        return AIGW_EINVAL;
    name = name ? name : "catalog";
    if (len > GW_CATALOG_MAX_FILE)
        return gw_catalog_seterr(err, errlen, "%s: larger than 64 MiB", name), AIGW_ETOOBIG;
    char *copy = gw_pages_alloc(len + 1); /* see gw_catalog_load() */
    if (!copy)
        return gw_catalog_seterr(err, errlen, "%s: out of memory", name), AIGW_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = parse_text(copy, name, out, err, errlen);
    gw_pages_free(copy, len + 1);
    return rc;
}

int gw_catalog_load(const char *path, struct gw_catalog **out, char *err, size_t errlen)
{
    if (!out)
        return AIGW_EINVAL;
    if (!path || !*path)
        path = gw_catalog_default_path();
    FILE *f = fopen(path, "rb");
    if (!f) {
        gw_catalog_seterr(err, errlen, "%s: cannot open the model catalog: %s", path,
                          strerror(errno));
        return AIGW_ECONFIG;
    }
    /* The text (1.7 MB) is read into pages of its own, not malloc'd: freeing a malloc'd block
     * this big raises glibc's mmap threshold to its size, and every table allocated after it
     * (metrics shards, counters, ...: 2.4 MB when measured) then came from the heap, zeroed
     * and resident, instead of from fresh pages that stay out of RSS until used. */
    size_t cap = 1u << 20, len = 0, got;
    char *buf = gw_pages_alloc(cap + 1);
    int rc = buf ? 0 : AIGW_ENOMEM;
    while (!rc && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len < cap)
            continue;
        char *nb = cap < GW_CATALOG_MAX_FILE ? gw_pages_alloc(cap * 2 + 1) : NULL;
        if (nb) {
            memcpy(nb, buf, len);
            gw_pages_free(buf, cap + 1);
            buf = nb, cap *= 2;
        } else {
            rc = cap < GW_CATALOG_MAX_FILE ? AIGW_ENOMEM : AIGW_ETOOBIG;
        }
    }
    if (!rc && ferror(f))
        rc = AIGW_ECONFIG;
    fclose(f);
    if (rc) {
        gw_catalog_seterr(err, errlen, "%s: %s", path,
                          rc == AIGW_ETOOBIG  ? "larger than 64 MiB"
                          : rc == AIGW_ENOMEM ? "out of memory"
                                              : "read error");
        gw_pages_free(buf, cap + 1);
        return rc;
    }
    buf[len] = '\0';
    rc = parse_text(buf, path, out, err, errlen);
    gw_pages_free(buf, cap + 1);
    return rc;
}
