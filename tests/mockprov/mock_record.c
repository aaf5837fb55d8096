/*
 * mock_record.c - the record of one received request (immutable once published,
 * reference-counted so a test can keep it past the record window) and its accessors.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_int.h"

static pthread_mutex_t json_mu = PTHREAD_MUTEX_INITIALIZER;

static void rec_free(struct mock_req *rec)
{
    for (int i = 0; i < rec->nhdrs; i++) {
        free(rec->hdrs[i].name);
        free(rec->hdrs[i].value);
    }
    for (int i = 0; i < rec->nqp; i++) {
        free(rec->qp[i].name);
        free(rec->qp[i].value);
    }
    free(rec->hdrs);
    free(rec->qp);
    free(rec->method);
    free(rec->path);
    free(rec->query);
    free(rec->route);
    free(rec->body);
    cJSON_Delete(rec->json);
    free(rec);
}

void mock_req_free(const struct mock_req *r)
{
    struct mock_req *rec = (struct mock_req *)r;
    if (rec && atomic_fetch_sub(&rec->refs, 1) == 1)
        rec_free(rec);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent- and '+'-decoding of a query component. */
static char *qdecode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[k++] = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
    return out;
}

static int add_pair(struct mpair **p, int *n, char *name, char *value)
{
    struct mpair *np = name && value ? realloc(*p, sizeof **p * (size_t)(*n + 1)) : NULL;
    if (!np) {
        free(name);
        free(value);
        return -1;
    }
    *p = np;
    np[*n].name = name;
    np[*n].value = value;
    (*n)++;
    return 0;
}

static int parse_query(struct mock_req *rec)
{
    const char *s = rec->query;
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        size_t nl = eq ? (size_t)(eq - s) : len;
        if (len && add_pair(&rec->qp, &rec->nqp, qdecode(s, nl),
                            eq ? qdecode(eq + 1, len - nl - 1) : strdup("")))
            return -1;
        s += len + (amp ? 1 : 0);
    }
    return 0;
}

static enum MHD_Result header_it(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct mock_req *rec = cls;
    (void)kind;
    add_pair(&rec->hdrs, &rec->nhdrs, strdup(key), strdup(value ? value : ""));
    return MHD_YES;
}

struct mock_req *mrec_new(struct mreq *r)
{
    struct mock_req *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    atomic_init(&rec->refs, 1);
    const char *q = strchr(r->uri, '?');
    size_t plen = q ? (size_t)(q - r->uri) : strlen(r->uri);
    rec->method = strdup(r->method);
    rec->path = strndup(r->uri, plen);
    rec->query = strdup(q ? q + 1 : "");
    if (!rec->method || !rec->path || !rec->query || parse_query(rec))
        goto fail;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, header_it, rec);
    /* The record takes the body over; the response never needs it. */
    rec->body = r->in ? r->in : strdup("");
    rec->body_len = r->in_len;
    r->in = NULL;
    if (!rec->body)
        goto fail;
    return rec;
fail:
    rec_free(rec);
    return NULL;
}

/* ---- record accessors --------------------------------------------------------------------- */

const struct mock_req *mock_request(struct mock *m, int i)
{
    struct mock_req *rec = NULL;
    pthread_mutex_lock(&m->mu);
    if (i < 0)
        i += m->total;
    if (i >= 0 && i < m->total && i >= m->total - m->cap) {
        rec = m->ring[i % m->cap];
        atomic_fetch_add(&rec->refs, 1);
    }
    pthread_mutex_unlock(&m->mu);
    return rec;
}

const char *mock_req_method(const struct mock_req *r)
{
    return r->method;
}

const char *mock_req_path(const struct mock_req *r)
{
    return r->path;
}

const char *mock_req_query(const struct mock_req *r)
{
    return r->query;
}

const char *mock_req_query_param(const struct mock_req *r, const char *name)
{
    for (int i = 0; i < r->nqp; i++)
        if (strcmp(r->qp[i].name, name) == 0)
            return r->qp[i].value;
    return NULL;
}

const char *mock_req_header(const struct mock_req *r, const char *name)
{
    for (int i = 0; i < r->nhdrs; i++)
        if (strcasecmp(r->hdrs[i].name, name) == 0)
            return r->hdrs[i].value;
    return NULL;
}

int mock_req_header_count(const struct mock_req *r)
{
    return r->nhdrs;
}

const char *mock_req_header_name(const struct mock_req *r, int i)
{
    return i >= 0 && i < r->nhdrs ? r->hdrs[i].name : NULL;
}

const char *mock_req_header_value(const struct mock_req *r, int i)
{
    return i >= 0 && i < r->nhdrs ? r->hdrs[i].value : NULL;
}

const char *mock_req_body(const struct mock_req *r)
{
    return r->body;
}

size_t mock_req_body_len(const struct mock_req *r)
{
    return r->body_len;
}

const cJSON *mock_req_json(const struct mock_req *r)
{
    struct mock_req *rec = (struct mock_req *)r;
    /* Parsed on first use: most requests are never looked at this way. */
    pthread_mutex_lock(&json_mu);
    if (!rec->json_parsed) {
        rec->json = cJSON_ParseWithLength(rec->body, rec->body_len);
        rec->json_parsed = 1;
    }
    pthread_mutex_unlock(&json_mu);
    return rec->json;
}

const char *mock_req_route(const struct mock_req *r)
{
    return r->route;
}

int mock_req_status(const struct mock_req *r)
{
    return r->status;
}
