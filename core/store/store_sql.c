/* store_sql - parameter and value helpers, the reader pool, transactions (see store_int.h). */
#include "store/store_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/utf8.h"

int64_t gw_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gw_store_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct gw_sql_param gw_sql_int(int64_t v)
{
    return (struct gw_sql_param){.type = GW_SQL_INT, .i = v};
}

struct gw_sql_param gw_sql_text(const char *s)
{
    if (!s)
        return (struct gw_sql_param){.type = GW_SQL_NULL};
    return (struct gw_sql_param){.type = GW_SQL_TEXT, .s = s, .len = strlen(s)};
}

struct gw_sql_param gw_sql_null(void)
{
    return (struct gw_sql_param){.type = GW_SQL_NULL};
}

char *gw_sql_clean_dup(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    while (n) {
        size_t bad = gw_utf8_invalid_at(p, n);
        size_t good = bad == (size_t)-1 ? n : bad;
        /* A run is copied whole, then its NULs found by memchr: a stored Responses row is
         * kilobytes of JSON, and a byte at a time was a fifth of the writer's work for it. */
        memcpy(out + o, p, good);
        /* NUL is valid UTF-8 but no database TEXT holds it */
        for (char *z = out + o, *end = z + good; (z = memchr(z, '\0', (size_t)(end - z))); z++)
            *z = '?';
        o += good;
        if (bad == (size_t)-1)
            break;
        out[o++] = '?';
        p += bad + 1;
        n -= bad + 1;
    }
    out[o] = '\0';
    return out;
}

int64_t gw_sql_i64(const char *v)
{
    return v ? strtoll(v, NULL, 10) : 0;
}

void gw_sql_str(char *dst, size_t size, const char *v)
{
    gw_strlcpy(dst, v ? v : "", size);
}

int64_t gw_usd_to_nusd(double usd)
{
    if (!(usd >= 0) || usd > 9.0e9)
        return usd > 0 ? INT64_MAX / 2 : 0;
    return llround(usd * STORE_NUSD);
}

double gw_nusd_to_usd(int64_t n)
{
    return (double)n / STORE_NUSD;
}

/* Holds a reader within the deadline: first a free one, else waits on the first. */
static struct store_reader *reader_take(struct gw_store *s, int64_t deadline)
{
    for (int i = 0; i < STORE_READERS; i++)
        if (pthread_mutex_trylock(&s->readers[i].mu) == 0)
            return &s->readers[i];
    /* timedlock counts in CLOCK_REALTIME; the deadline is monotonic: convert the remainder */
    int64_t left = deadline - gw_store_mono_ms();
    if (left <= 0)
        return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    static _Atomic unsigned rr;
    struct store_reader *r = &s->readers[rr++ % STORE_READERS];
    return pthread_mutex_timedlock(&r->mu, &ts) == 0 ? r : NULL;
}

int64_t gw_store_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void gw_store_observe_why(struct gw_store *s, const char *op, int64_t start_us, int rc,
                          const char *why)
{
    if (!s->o.on_op)
        return;
    const char *error = rc == 0 ? NULL : why ? why : rc == GW_STORE_EUNAVAIL ? "timeout" : "error";
    s->o.on_op(s->o.on_op_ud, s->ops->name, op, gw_store_mono_us() - start_us, error);
}

void gw_store_observe(struct gw_store *s, const char *op, int64_t start_us, int rc)
{
    gw_store_observe_why(s, op, start_us, rc, NULL);
}

void gw_store_dropped(struct gw_store *s, const char *what, uint64_t n)
{
    if (n && s->o.on_drop)
        s->o.on_drop(s->o.on_op_ud, what, (int64_t)n);
}

static int read_once(struct gw_store *s,
                     int (*fn)(struct gw_store *, struct gw_sql_conn *, void *, int64_t), void *ctx)
{
    int64_t now = gw_store_mono_ms(), deadline = now + s->o.read_timeout_ms;
    if (now < s->read_down_until)
        return GW_STORE_EUNAVAIL;
    struct store_reader *r = reader_take(s, deadline);
    if (!r)
        return GW_STORE_EUNAVAIL;
    int rc = GW_STORE_EUNAVAIL;
    /* one reconnect per call: a connection the database dropped while idle is normal */
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!r->conn) {
            char err[256];
            if (s->ops->connect(s, 1, deadline, &r->conn, err, sizeof err) != 0) {
                r->conn = NULL;
                gw_logf(AIGW_LOG_WARN, "store", NULL, "reader connect: %s", err);
                rc = GW_STORE_EUNAVAIL;
                break;
            }
        }
        rc = fn(s, r->conn, ctx, deadline);
        if (rc != GW_STORE_EUNAVAIL)
            break;
        s->ops->disconnect(r->conn);
        r->conn = NULL;
        if (gw_store_mono_ms() >= deadline)
            break;
    }
    if (rc == AIGW_EINTERNAL && r->conn)
        gw_logf(AIGW_LOG_WARN, "store", NULL, "read: %s", s->ops->errmsg(r->conn));
    if (rc == GW_STORE_EUNAVAIL)
        s->read_down_until = gw_store_mono_ms() + STORE_READ_BACKOFF_MS;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int gw_store_read(struct gw_store *s, const char *op,
                  int (*fn)(struct gw_store *, struct gw_sql_conn *, void *, int64_t), void *ctx)
{
    int64_t t0 = gw_store_mono_us();
    int rc = read_once(s, fn, ctx);
    /* "not found" is an answer, not a failure */
    gw_store_observe(s, op, t0, rc == GW_STORE_ENOTFOUND || rc > 0 ? 0 : rc);
    return rc;
}

int gw_sql_tx(struct gw_store *s, struct gw_sql_conn *c, const char *what, int64_t deadline)
{
    const char *sql = !strcmp(what, "begin")    ? s->ops->begin_sql
                      : !strcmp(what, "commit") ? "COMMIT"
                                                : "ROLLBACK";
    return s->ops->exec(c, sql, NULL, 0, NULL, NULL, deadline);
}

int gw_sql_read_i64(void *ctx, int ncol, const char *const *val, const size_t *len)
{
    (void)len;
    if (ncol > 0)
        *(int64_t *)ctx = gw_sql_i64(val[0]);
    return 0;
}

static int insert_all(const struct gw_sql_batch *b, size_t chunk, gw_sql_insert_fn insert,
                      int returning)
{
    int rc = 0;
    for (size_t at = 0; !rc && at < b->n; at += chunk)
        rc = insert(b, at, b->n - at < chunk ? b->n - at : chunk, returning);
    return rc;
}

int gw_sql_insert_counted(const struct gw_sql_batch *b, size_t chunk, gw_sql_insert_fn insert)
{
    struct gw_store *s = b->s;
    const char *count = s->ops->changes_sql;
    if (!count)
        return insert_all(b, chunk, insert, 1);
    int64_t before = -1, after = -1;
    int rc = s->ops->exec(b->c, "SAVEPOINT aigw_counted", NULL, 0, NULL, NULL, b->deadline);
    if (!rc)
        rc = s->ops->exec(b->c, count, NULL, 0, gw_sql_read_i64, &before, b->deadline);
    if (!rc)
        rc = insert_all(b, chunk, insert, 0);
    if (!rc)
        rc = s->ops->exec(b->c, count, NULL, 0, gw_sql_read_i64, &after, b->deadline);
    if (rc)
        return rc; /* the caller's transaction rolls back, savepoint and all */
    int all = before >= 0 && after - before == (int64_t)b->n;
    if (!all)
        rc = s->ops->exec(b->c, "ROLLBACK TO aigw_counted", NULL, 0, NULL, NULL, b->deadline);
    if (!rc)
        rc = s->ops->exec(b->c, "RELEASE aigw_counted", NULL, 0, NULL, NULL, b->deadline);
    if (!rc && all)
        memset(b->hit, 1, b->n);
    else if (!rc)
        rc = insert_all(b, chunk, insert, 1);
    return rc;
}

int gw_sql_values(struct gw_buf *b, int rows, int cols)
{
    int rc = 0, n = 1;
    for (int r = 0; !rc && r < rows; r++) {
        rc = gw_buf_append_str(b, r ? ", (" : "(");
        for (int c = 0; !rc && c < cols; c++)
            rc = gw_buf_printf(b, c ? ", $%d" : "$%d", n++);
        if (!rc)
            rc = gw_buf_append_str(b, ")");
    }
    return rc;
}

/* The text for rows rows of q's shape, built on first use. NULL: no memory. */
static const char *rows_text(struct gw_store *s, const struct gw_sql_rows *q, size_t rows)
{
    for (size_t i = 0; i < s->ntexts; i++)
        if (s->texts[i].prefix == q->prefix && s->texts[i].suffix == q->suffix &&
            s->texts[i].rows == rows)
            return s->texts[i].sql;
    if (s->ntexts == STORE_SQL_TEXTS)
        return NULL; /* more shapes than any caller has: a bug, failed loudly by the caller */
    struct gw_buf b;
    gw_buf_init(&b, 1u << 20);
    int rc = gw_buf_append_str(&b, q->prefix);
    if (!rc)
        rc = gw_sql_values(&b, (int)rows, q->cols);
    if (!rc)
        rc = gw_buf_append_str(&b, q->suffix);
    char *sql = rc ? NULL : strdup(b.ptr);
    gw_buf_free(&b);
    if (!sql)
        return NULL;
    s->texts[s->ntexts++] = (struct store_sql_text){q->prefix, q->suffix, rows, sql};
    return sql;
}

int gw_sql_rows_exec(struct gw_store *s, struct gw_sql_conn *c, struct gw_sql_rows *q,
                     int64_t deadline)
{
    int rc = 0;
    for (q->at = 0; !rc && q->at < q->rows; q->at += q->n) {
        /* the largest power of two that fits: a few shapes, each prepared once */
        size_t left = q->rows - q->at;
        q->n = STORE_STMT_ROWS;
        while (q->n > left)
            q->n >>= 1;
        const char *sql = rows_text(s, q, q->n);
        if (!sql)
            return AIGW_ENOMEM;
        rc = s->ops->exec(c, sql, q->p + q->at * (size_t)q->cols, (int)q->n * q->cols, q->row,
                          q->ctx, deadline);
    }
    return rc;
}

void gw_sql_texts_free(struct gw_store *s)
{
    for (size_t i = 0; i < s->ntexts; i++)
        free(s->texts[i].sql);
    s->ntexts = 0;
}

void gw_sql_clean_inplace(char *s)
{
    /* ASCII, as nearly every field of a log row is, needs no UTF-8 check: one pass */
    unsigned char *a = (unsigned char *)s;
    for (; *a && *a < 0x80; a++)
        if (*a < 0x20 && *a != '\t')
            *a = '?';
    if (!*a)
        return;
    s = (char *)a;
    size_t n = strlen(s);
    while (n) {
        size_t bad = gw_utf8_invalid_at(s, n);
        size_t good = bad == (size_t)-1 ? n : bad;
        for (size_t i = 0; i < good; i++)
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
                s[i] = '?';
        if (bad == (size_t)-1)
            break;
        s[bad] = '?';
        s += bad + 1;
        n -= bad + 1;
    }
}
