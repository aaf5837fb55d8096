/*
 * responses_memstore - the stored-response API of the state store (responses_store.h), in
 * memory, until core/store/ lands on main: then this file goes and the store's SQLite,
 * PostgreSQL and memory backends take over. Bounded: at most MAX_ROWS rows and MAX_BYTES of
 * JSON; the oldest row goes first. Rows past expires_at read as missing.
 *
 * Threading: one mutex around the list; any thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front/responses_memstore.h"
#include "lib/buf.h"

#define MAX_ROWS 4096
#define MAX_BYTES (256u << 20)

struct row {
    struct gw_stored_response r;
    size_t bytes;
    struct row *next; /* newest first */
};

struct gw_store {
    pthread_mutex_t lock;
    struct row *head;
    size_t rows, bytes;
};

struct gw_store *gw_resp_memstore_new(void)
{
    struct gw_store *s = calloc(1, sizeof *s);
    if (s)
        pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void row_free(struct row *w)
{
    gw_stored_response_free(&w->r);
    free(w);
}

void gw_resp_memstore_free(struct gw_store *s)
{
    if (!s)
        return;
    for (struct row *w = s->head, *n; w; w = n) {
        n = w->next;
        row_free(w);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static char *dup_or_null(const char *p)
{
    return p ? strdup(p) : NULL;
}

static int copy_row(struct gw_stored_response *dst, const struct gw_stored_response *src)
{
    *dst = *src;
    dst->request_json = dup_or_null(src->request_json);
    dst->response_json = dup_or_null(src->response_json);
    dst->input_items_json = dup_or_null(src->input_items_json);
    if ((src->request_json && !dst->request_json) || (src->response_json && !dst->response_json) ||
        (src->input_items_json && !dst->input_items_json)) {
        gw_stored_response_free(dst);
        return -1;
    }
    return 0;
}

/* Unlinks and frees the oldest row (the list's tail). Called with the lock held. */
static void drop_oldest(struct gw_store *s)
{
    struct row **pp = &s->head;
    while (*pp && (*pp)->next)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    s->rows--;
    s->bytes -= (*pp)->bytes;
    row_free(*pp);
    *pp = NULL;
}

static struct row **find(struct gw_store *s, const char *id)
{
    struct row **pp = &s->head;
    while (*pp && strcmp((*pp)->r.id, id))
        pp = &(*pp)->next;
    return pp;
}

int gw_store_response_put(struct gw_store *s, const struct gw_stored_response *r)
{
    struct row *w = calloc(1, sizeof *w);
    if (!w || copy_row(&w->r, r)) {
        free(w);
        return -1;
    }
    w->bytes = (r->request_json ? strlen(r->request_json) : 0) +
               (r->response_json ? strlen(r->response_json) : 0) +
               (r->input_items_json ? strlen(r->input_items_json) : 0);
    if (w->bytes > MAX_BYTES) {
        row_free(w);
        return -1;
    }
    pthread_mutex_lock(&s->lock);
    struct row **old = find(s, r->id);
    if (*old) {
        struct row *o = *old;
        *old = o->next;
        s->rows--;
        s->bytes -= o->bytes;
        row_free(o);
    }
    while (s->head && (s->rows >= MAX_ROWS || s->bytes + w->bytes > MAX_BYTES))
        drop_oldest(s);
    w->next = s->head;
    s->head = w;
    s->rows++;
    s->bytes += w->bytes;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static int visible(const struct row *w, const char *key_id)
{
    return w && !strcmp(w->r.key_id, key_id ? key_id : "") &&
           (w->r.expires_at <= 0 || w->r.expires_at > (int64_t)time(NULL));
}

int gw_store_response_get(struct gw_store *s, const char *id, const char *key_id,
                          struct gw_stored_response *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->lock);
    struct row *w = *find(s, id);
    int rc = visible(w, key_id) ? (copy_row(out, &w->r) ? -1 : 0) : GW_STORE_ENOTFOUND;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void gw_stored_response_free(struct gw_stored_response *r)
{
    free(r->request_json);
    free(r->response_json);
    free(r->input_items_json);
    r->request_json = r->response_json = r->input_items_json = NULL;
}

int gw_store_response_delete(struct gw_store *s, const char *id, const char *key_id)
{
    pthread_mutex_lock(&s->lock);
    struct row **pp = find(s, id);
    int rc = GW_STORE_ENOTFOUND;
    if (visible(*pp, key_id)) {
        struct row *w = *pp;
        *pp = w->next;
        s->rows--;
        s->bytes -= w->bytes;
        row_free(w);
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
