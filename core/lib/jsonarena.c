/* jsonarena - cJSON trees in a rewindable arena (see jsonarena.h). */
#include "lib/jsonarena.h"

#include <limits.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gw_jsonarena_block {
    struct gw_jsonarena_block *prev;
    size_t size; /* of data */
    _Alignas(16) char data[];
};

/* One malloc of 8 KiB holds a typical response's tree; blocks then double up to 1 MiB. */
#define FIRST_BLOCK (8192 - sizeof(struct gw_jsonarena_block))
#define MAX_BLOCK ((size_t)1 << 20)

void gw_jsonarena_init(struct gw_jsonarena *a, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->cap = cap;
}

void gw_jsonarena_free(struct gw_jsonarena *a)
{
    struct gw_jsonarena_block *b = a->head;
    while (b) {
        struct gw_jsonarena_block *prev = b->prev;
        free(b);
        b = prev;
    }
    a->head = NULL;
    a->ptr = a->end = NULL;
    a->used = 0;
}

struct gw_jsonarena_mark gw_jsonarena_mark(const struct gw_jsonarena *a)
{
    struct gw_jsonarena_mark m = {a->head, a->ptr};
    return m;
}

void gw_jsonarena_rewind(struct gw_jsonarena *a, struct gw_jsonarena_mark m)
{
    /* Even the first block goes: a held stream keeps no memory between its events (one
     * malloc per event is still far fewer than cJSON's one per node). */
    while (a->head && a->head != m.block) {
        struct gw_jsonarena_block *b = a->head;
        a->head = b->prev;
        a->used -= sizeof *b + b->size;
        free(b);
    }
    a->ptr = a->head ? m.ptr : NULL;
    a->end = a->head ? a->head->data + a->head->size : NULL;
}

static void *grow(struct gw_jsonarena *a, size_t n)
{
    size_t want = a->head ? a->head->size * 2 : FIRST_BLOCK;
    if (want > MAX_BLOCK)
        want = MAX_BLOCK;
    if (want < n)
        want = n;
    if (a->used + sizeof(struct gw_jsonarena_block) + want > a->cap)
        want = n;
    if (n > a->cap || a->used + sizeof(struct gw_jsonarena_block) + want > a->cap)
        return NULL;
    struct gw_jsonarena_block *b = malloc(sizeof *b + want);
    if (!b)
        return NULL;
    b->prev = a->head;
    b->size = want;
    a->head = b;
    a->used += sizeof *b + want;
    a->ptr = b->data + n;
    a->end = b->data + want;
    return b->data;
}

/* Raw bytes (strings), unaligned. */
static char *alloc_bytes(struct gw_jsonarena *a, size_t n)
{
    if (a->ptr && (size_t)(a->end - a->ptr) >= n) {
        char *p = a->ptr;
        a->ptr += n;
        return p;
    }
    return grow(a, n);
}

void *gw_jsonarena_alloc(struct gw_jsonarena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (a->ptr) {
        size_t pad = (size_t)(-(uintptr_t)a->ptr & 7);
        if ((size_t)(a->end - a->ptr) >= n + pad) {
            char *p = a->ptr + pad;
            a->ptr = p + n;
            return memset(p, 0, n);
        }
    }
    void *p = grow(a, n);
    return p ? memset(p, 0, n) : NULL;
}

/* ---- the parser: the grammar and quirks of cJSON 1.7's parse_value ---------------------- */

struct parser {
    struct gw_jsonarena *a;
    const unsigned char *p, *end;
    size_t depth;
};

static int parse_value(struct parser *ps, cJSON *item);

/* Every byte up to a space counts as whitespace, NUL included, as in cJSON. */
static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && *ps->p <= 32)
        ps->p++;
}

/* Four hex digits; any other byte makes the whole value 0 (cJSON's parse_hex4). */
static unsigned hex4(const unsigned char *s)
{
    unsigned h = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return 0;
        h = h << 4 | d;
    }
    return h;
}

/* A \uXXXX (or surrogate pair) at `in`, before `lim`, as UTF-8 at *out: the escape's
 * length, or 0 when it is invalid. */
static size_t utf16_escape(const unsigned char *in, const unsigned char *lim, unsigned char **out)
{
    if (lim - in < 6)
        return 0;
    unsigned long cp = hex4(in + 2);
    size_t len = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        const unsigned char *lo = in + 6;
        if (lim - lo < 6 || lo[0] != '\\' || lo[1] != 'u')
            return 0;
        unsigned c2 = hex4(lo + 2);
        if (c2 < 0xDC00 || c2 > 0xDFFF)
            return 0;
        cp = 0x10000 + (((cp & 0x3FF) << 10) | (c2 & 0x3FF));
        len = 12;
    }
    unsigned char *o = *out;
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | cp >> 18);
        *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *out = o;
    return len;
}

/* The string at ps->p (a '"'), unescaped into the arena. */
static char *parse_string(struct parser *ps)
{
    const unsigned char *start = ps->p, *q = start + 1;
    size_t skipped = 0;
    if (q > ps->end || *start != '"')
        return NULL;
    /* Most strings have no escape: two memchr scans find that out. */
    const unsigned char *quote = memchr(q, '"', (size_t)(ps->end - q));
    if (!quote)
        return NULL;
    if (!memchr(q, '\\', (size_t)(quote - q)))
        q = quote;
    while (q < ps->end && *q != '"') {
        if (*q == '\\') {
            if (q + 1 >= ps->end)
                return NULL;
            skipped++;
            q++;
        }
        q++;
    }
    if (q >= ps->end)
        return NULL;
    char *out = alloc_bytes(ps->a, (size_t)(q - start) - skipped + 1);
    if (!out)
        return NULL;
    const unsigned char *in = start + 1;
    if (!skipped) {
        memcpy(out, in, (size_t)(q - in));
        out[q - in] = '\0';
        ps->p = q + 1;
        return out;
    }
    unsigned char *o = (unsigned char *)out;
    while (in < q) {
        if (*in != '\\') {
            *o++ = *in++;
            continue;
        }
        size_t len = 2;
        switch (in[1]) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case '"':
        case '\\':
        case '/': *o++ = in[1]; break;
        case 'u':
            if (!(len = utf16_escape(in, q, &o)))
                return NULL;
            break;
        default:
            return NULL;
        }
        in += len;
    }
    *o = '\0';
    ps->p = q + 1;
    return out;
}

static void set_number(cJSON *item, double d)
{
    item->type = cJSON_Number;
    item->valuedouble = d;
    item->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
}

static int is_number_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E' || c == '.';
}

/* cJSON (with Debian's fix for CVE-2023-26819) copies the run of [0-9+-eE.] and hands it to
 * strtod; short plain integers (exact in a double) skip that. */
static int parse_number(struct parser *ps, cJSON *item)
{
    const unsigned char *s = ps->p, *q = s;
    int neg = *q == '-';
    q += neg;
    const unsigned char *digits = q;
    uint64_t v = 0;
    while (q < ps->end && *q >= '0' && *q <= '9' && q - digits < 16)
        v = v * 10 + (uint64_t)(*q++ - '0');
    if (q > digits && q - digits <= 15 && (q == ps->end || !is_number_byte(*q))) {
        double d = (double)v;
        set_number(item, neg ? -d : d);
        ps->p = q;
        return 0;
    }
    size_t n = 0;
    while (s + n < ps->end && is_number_byte(s[n]))
        n++;
    /* Longer runs are rare (and at most the body): a temporary copy of their own. */
    char small[64], *buf = n < sizeof small ? small : malloc(n + 1), *after = NULL;
    if (!buf)
        return -1;
    char point = *localeconv()->decimal_point;
    for (size_t i = 0; i < n; i++)
        buf[i] = s[i] == '.' ? point : (char)s[i];
    buf[n] = '\0';
    double d = strtod(buf, &after);
    size_t used = (size_t)(after - buf);
    if (buf != small)
        free(buf);
    if (!used)
        return -1;
    set_number(item, d);
    ps->p = s + used;
    return 0;
}

/* The members of an array or object after its opening byte, up to `close`. */
static int parse_list(struct parser *ps, cJSON *item, int object, unsigned char close)
{
    cJSON *head = NULL, *last = NULL;
    if (ps->depth >= CJSON_NESTING_LIMIT)
        return -1;
    ps->depth++;
    ps->p++;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return -1;
    if (*ps->p != close) {
        for (;;) {
            cJSON *n = gw_jsonarena_alloc(ps->a, sizeof *n);
            if (!n)
                return -1;
            if (last) {
                last->next = n;
                n->prev = last;
            } else {
                head = n;
            }
            last = n;
            skip_ws(ps);
            if (object) {
                if (ps->p >= ps->end || *ps->p != '"' || !(n->string = parse_string(ps)))
                    return -1;
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':')
                    return -1;
                ps->p++;
                skip_ws(ps);
            }
            if (parse_value(ps, n) != 0)
                return -1;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            break;
        }
        if (ps->p >= ps->end || *ps->p != close)
            return -1;
        head->prev = last;
    }
    ps->depth--;
    ps->p++;
    item->type = object ? cJSON_Object : cJSON_Array;
    item->child = head;
    return 0;
}

static int parse_value(struct parser *ps, cJSON *item)
{
    size_t left = (size_t)(ps->end - ps->p);
    const unsigned char *p = ps->p;
    if (left >= 4 && memcmp(p, "null", 4) == 0) {
        item->type = cJSON_NULL;
        ps->p += 4;
        return 0;
    }
    if (left >= 5 && memcmp(p, "false", 5) == 0) {
        item->type = cJSON_False;
        ps->p += 5;
        return 0;
    }
    if (left >= 4 && memcmp(p, "true", 4) == 0) {
        item->type = cJSON_True;
        item->valueint = 1;
        ps->p += 4;
        return 0;
    }
    if (!left)
        return -1;
    switch (*p) {
    case '"':
        item->type = cJSON_String;
        return (item->valuestring = parse_string(ps)) ? 0 : -1;
    case '[':
        return parse_list(ps, item, 0, ']');
    case '{':
        return parse_list(ps, item, 1, '}');
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9'))
            return parse_number(ps, item);
        return -1;
    }
}

cJSON *gw_jsonarena_parse(struct gw_jsonarena *a, const char *p, size_t n)
{
    if (!p || !n)
        return NULL;
    struct gw_jsonarena_mark m = gw_jsonarena_mark(a);
    struct parser ps = {a, (const unsigned char *)p, (const unsigned char *)p + n, 0};
    /* cJSON only looks for a BOM when at least five bytes can be read. */
    if (n >= 5 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    cJSON *root = gw_jsonarena_alloc(a, sizeof *root);
    skip_ws(&ps);
    if (root && parse_value(&ps, root) == 0)
        return root;
    gw_jsonarena_rewind(a, m);
    return NULL;
}
