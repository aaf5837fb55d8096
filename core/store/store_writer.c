/*
 * store_writer - the bounded queues and the one writer thread. Request threads only copy an
 * item into a list under s->mu; the writer takes up to a batch at a time and commits it in one
 * transaction. A dead database makes the writer reconnect with backoff while the log queue
 * keeps dropping its oldest rows: nothing ever waits for the database but the writer itself.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"
#include "lib/log.h"

#define BATCH_LOGS 500
#define BATCH_OPS 500
#define RETENTION_EVERY_MS (10 * 60 * 1000)
#define CLOSE_GRACE_MS 3000

static void list_push(struct store_list *l, struct store_link *it)
{
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->n++;
    l->bytes += it->bytes;
}

static struct store_link *list_pop(struct store_list *l)
{
    struct store_link *it = l->head;
    if (!it)
        return NULL;
    l->head = it->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    l->bytes -= it->bytes;
    it->next = NULL;
    return it;
}

static int list_unlink(struct store_list *l, struct store_link *it)
{
    struct store_link *prev = NULL;
    for (struct store_link *p = l->head; p; prev = p, p = p->next) {
        if (p != it)
            continue;
        if (prev)
            prev->next = p->next;
        else
            l->head = p->next;
        if (l->tail == p)
            l->tail = prev;
        l->n--;
        l->bytes -= p->bytes;
        return 1;
    }
    return 0;
}

void gw_store_log_free_item(struct store_log *it)
{
    if (!it)
        return;
    free(it->row.request_body);
    free(it->row.response_body);
    free(it);
}

void gw_store_op_free(struct store_op *op)
{
    if (!op)
        return;
    if (op->kind == OP_RESP_PUT)
        gw_stored_response_clear(&op->u.resp);
    free(op);
}

static void wake_ts(struct timespec *ts, int64_t at_mono)
{
    ts->tv_sec = at_mono / 1000;
    ts->tv_nsec = (at_mono % 1000) * 1000000;
}

void gw_store_enqueue_log(struct gw_store *s, struct store_log *it)
{
    struct store_link *dropped = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        s->st.log_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_log_free_item(it);
        return;
    }
    /* make room by dropping the oldest: fresh rows are worth more than stale ones, and the
     * request thread must not wait */
    while (s->logq.n && (s->logq.n >= (size_t)s->o.log_queue_rows ||
                         s->logq.bytes + it->link.bytes > s->o.log_queue_bytes)) {
        struct store_link *old = list_pop(&s->logq);
        old->next = dropped;
        dropped = old;
        s->st.log_dropped++;
        s->log_done++;
    }
    list_push(&s->logq, &it->link);
    s->log_enq++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    while (dropped) {
        struct store_link *next = dropped->next;
        gw_store_log_free_item((struct store_log *)dropped);
        dropped = next;
    }
}

int gw_store_enqueue_op(struct gw_store *s, struct store_op *op)
{
    pthread_mutex_lock(&s->mu);
    if (s->stop || s->opq.n >= (size_t)s->o.ops_queue_rows ||
        s->opq.bytes + op->link.bytes > s->o.ops_queue_bytes) {
        s->st.ops_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_op_free(op);
        return GW_STORE_EFULL;
    }
    if (op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL)
        s->pending_resp++;
    list_push(&s->opq, &op->link);
    s->op_enq++;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int gw_store_call(struct gw_store *s, store_call_fn fn, void *ctx)
{
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return AIGW_ENOMEM;
    op->kind = OP_CALL;
    op->u.call.fn = fn;
    op->u.call.ctx = ctx;
    /* a call waits behind the batches queued before it, so allow more than one read */
    int64_t deadline = gw_store_mono_ms() + s->o.read_timeout_ms + STORE_WRITE_MS;
    struct timespec ts;
    wake_ts(&ts, deadline);
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        free(op);
        return GW_STORE_EUNAVAIL;
    }
    list_push(&s->opq, &op->link);
    s->op_enq++;
    pthread_cond_signal(&s->wake);
    while (op->u.call.state != 2) {
        if (pthread_cond_timedwait(&s->done, &s->mu, &ts) != 0 && op->u.call.state == 0 &&
            gw_store_mono_ms() >= deadline) {
            /* still queued: take it back, the caller's ctx dies with this frame */
            list_unlink(&s->opq, &op->link);
            s->op_done++;
            pthread_mutex_unlock(&s->mu);
            free(op);
            return GW_STORE_EUNAVAIL;
        }
    }
    int rc = op->u.call.rc;
    pthread_mutex_unlock(&s->mu);
    free(op);
    return rc;
}

/* Waits ms on the wake condition (so close interrupts it): 1 when stopping past its grace. */
static int backoff(struct gw_store *s, int64_t ms)
{
    struct timespec ts;
    wake_ts(&ts, gw_store_mono_ms() + ms);
    pthread_mutex_lock(&s->mu);
    if (!s->stop)
        pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    int give_up = s->stop && gw_store_mono_ms() >= s->stop_deadline_ms;
    pthread_mutex_unlock(&s->mu);
    return give_up;
}

/* Makes sure the writer has a connection: 0, or 1 when it gave up (closing). */
static int ensure_conn(struct gw_store *s)
{
    int64_t delay = 100;
    while (!s->wconn) {
        char err[256] = "";
        if (s->ops->connect(s, 0, gw_store_mono_ms() + 5000, &s->wconn, err, sizeof err) == 0)
            break;
        s->wconn = NULL;
        gw_logf(AIGW_LOG_WARN, "store", NULL, "writer reconnect: %s", err);
        if (backoff(s, delay))
            return 1;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    return 0;
}

static void drop_conn(struct gw_store *s)
{
    s->ops->disconnect(s->wconn);
    s->wconn = NULL;
}

/* Everything in one transaction: ledger rows together, then the other ops in queue order. */
static int write_tx(struct gw_store *s, struct store_log **logs, size_t nl, struct store_op **ops,
                    size_t no)
{
    struct gw_sql_conn *c = s->wconn;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS, t0 = gw_store_mono_us();
    int rc = gw_sql_tx(s, c, "begin", deadline);
    if (!rc && nl)
        rc = gw_store_write_logs(s, c, logs, nl, deadline);
    if (!rc && no) {
        struct store_op *ledger[BATCH_OPS];
        size_t nled = 0;
        for (size_t i = 0; i < no; i++)
            if (ops[i]->kind == OP_LEDGER)
                ledger[nled++] = ops[i];
        if (nled)
            rc = gw_store_write_ledger(s, c, ledger, nled, deadline);
    }
    for (size_t i = 0; !rc && i < no; i++) {
        struct store_op *op = ops[i];
        if (op->kind == OP_TOUCH) {
            struct gw_sql_param p[] = {gw_sql_text(op->u.touch.id), gw_sql_int(op->u.touch.at)};
            rc = s->ops->exec(c,
                              "UPDATE aigw_keys SET last_used_at = $2"
                              " WHERE id = $1 AND last_used_at < $2",
                              p, 2, NULL, NULL, deadline);
        } else if (op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL) {
            rc = gw_store_write_resp(s, c, op, deadline);
        }
    }
    if (!rc)
        rc = gw_sql_tx(s, c, "commit", deadline);
    if (rc) {
        if (rc != GW_STORE_EUNAVAIL)
            gw_logf(AIGW_LOG_WARN, "store", NULL, "write: %s", s->ops->errmsg(c));
        gw_sql_tx(s, c, "rollback", deadline);
        pthread_mutex_lock(&s->mu);
        s->st.write_errors++;
        pthread_mutex_unlock(&s->mu);
    }
    gw_store_observe(s, "write", t0, rc);
    return rc;
}

/* Writes a batch, reconnecting as needed. A batch the database refuses for its content is
 * retried one item per transaction so one bad row cannot sink the others; what still fails is
 * dropped and counted. Returns how many log rows were dropped; *ops_bad likewise. */
static size_t write_batch(struct gw_store *s, struct store_log **logs, size_t nl,
                          struct store_op **ops, size_t no, size_t *ops_bad)
{
    *ops_bad = 0;
    int64_t delay = 100;
    for (;;) {
        if (ensure_conn(s))
            break;
        int rc = write_tx(s, logs, nl, ops, no);
        if (rc == 0)
            return 0;
        if (rc == GW_STORE_EUNAVAIL) {
            drop_conn(s);
            if (backoff(s, delay))
                break;
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
            continue;
        }
        size_t bad = 0;
        for (size_t i = 0; i < nl; i++)
            if (ensure_conn(s) || write_tx(s, &logs[i], 1, NULL, 0))
                bad++;
        for (size_t i = 0; i < no; i++)
            if (ensure_conn(s) || write_tx(s, NULL, 0, &ops[i], 1))
                (*ops_bad)++;
        if (bad || *ops_bad)
            gw_logf(AIGW_LOG_ERROR, "store", NULL,
                    "dropped %zu log rows and %zu writes the %s"
                    " database refused",
                    bad, *ops_bad, s->ops->name);
        return bad;
    }
    *ops_bad = no;
    return nl;
}

static void run_call(struct gw_store *s, struct store_op *op)
{
    int rc = GW_STORE_EUNAVAIL;
    int64_t t0 = gw_store_mono_us();
    if (!ensure_conn(s)) {
        rc = op->u.call.fn(s, s->wconn, op->u.call.ctx);
        if (rc == GW_STORE_EUNAVAIL)
            drop_conn(s);
    }
    gw_store_observe(s, "admin", t0, rc == GW_STORE_ENOTFOUND || rc == AIGW_EINVAL ? 0 : rc);
    pthread_mutex_lock(&s->mu);
    list_unlink(&s->op_busy, &op->link);
    op->u.call.rc = rc;
    op->u.call.state = 2;
    s->op_done++;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

static void retention(struct gw_store *s)
{
    if (ensure_conn(s))
        return;
    int64_t deadline = gw_store_mono_ms() + STORE_WRITE_MS, t0 = gw_store_mono_us();
    int more = gw_store_retention_step(s, s->wconn, gw_store_now_ms(), deadline);
    gw_store_observe(s, "retention", t0, more < 0 ? more : 0);
    if (more < 0) {
        if (more == GW_STORE_EUNAVAIL)
            drop_conn(s);
        more = 0;
    }
    pthread_mutex_lock(&s->mu);
    s->next_retention_ms = gw_store_mono_ms() + (more ? 0 : RETENTION_EVERY_MS);
    pthread_mutex_unlock(&s->mu);
}

/* Takes the next batch off the queues into the busy lists (s->mu held). */
static void take(struct gw_store *s, struct store_log **logs, size_t *nl, struct store_op **ops,
                 size_t *no)
{
    *nl = *no = 0;
    /* a call at the head runs now, alone: behind steady log traffic it would never run */
    struct store_op *head = (struct store_op *)s->opq.head;
    if (head && head->kind == OP_CALL) {
        list_push(&s->op_busy, list_pop(&s->opq));
        ops[(*no)++] = head;
        head->u.call.state = 1;
        return;
    }
    while (*nl < BATCH_LOGS && s->logq.n) {
        struct store_link *it = list_pop(&s->logq);
        list_push(&s->log_busy, it);
        logs[(*nl)++] = (struct store_log *)it;
    }
    while (*no < BATCH_OPS && s->opq.n) {
        struct store_op *op = (struct store_op *)s->opq.head;
        if (op->kind == OP_CALL)
            break; /* next time, alone, in its own transaction */
        list_push(&s->op_busy, list_pop(&s->opq));
        ops[(*no)++] = op;
    }
}

static void *writer_main(void *arg)
{
    struct gw_store *s = arg;
    struct store_log **lv = calloc(BATCH_LOGS, sizeof *lv);
    struct store_op **ov = calloc(BATCH_OPS, sizeof *ov);
    pthread_mutex_lock(&s->mu);
    while (lv && ov) {
        int64_t now = gw_store_mono_ms();
        if (!s->logq.n && !s->opq.n) {
            if (s->stop)
                break;
            if (now < s->next_retention_ms) {
                struct timespec ts;
                wake_ts(&ts, s->next_retention_ms < now + 1000 ? s->next_retention_ms : now + 1000);
                pthread_cond_timedwait(&s->wake, &s->mu, &ts);
                continue;
            }
        }
        if (s->stop && now >= s->stop_deadline_ms)
            break;
        size_t nl, no;
        take(s, lv, &nl, ov, &no);
        int due = !s->stop && gw_store_mono_ms() >= s->next_retention_ms;
        pthread_mutex_unlock(&s->mu);
        if (no == 1 && ov[0]->kind == OP_CALL) {
            run_call(s, ov[0]);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        size_t ops_bad = 0, logs_bad = 0;
        if (nl || no)
            logs_bad = write_batch(s, lv, nl, ov, no, &ops_bad);
        if (due)
            retention(s);
        pthread_mutex_lock(&s->mu);
        s->st.log_written += nl - logs_bad;
        s->st.log_dropped += logs_bad;
        s->st.ops_dropped += ops_bad;
        s->log_done += nl;
        s->op_done += no;
        struct store_link *lfree = s->log_busy.head, *ofree = s->op_busy.head;
        for (size_t i = 0; i < no; i++)
            if (ov[i]->kind == OP_RESP_PUT || ov[i]->kind == OP_RESP_DEL)
                s->pending_resp--;
        memset(&s->log_busy, 0, sizeof s->log_busy);
        memset(&s->op_busy, 0, sizeof s->op_busy);
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->mu);
        while (lfree) {
            struct store_link *next = lfree->next;
            gw_store_log_free_item((struct store_log *)lfree);
            lfree = next;
        }
        while (ofree) {
            struct store_link *next = ofree->next;
            gw_store_op_free((struct store_op *)ofree);
            ofree = next;
        }
        pthread_mutex_lock(&s->mu);
    }
    /* closing past the grace (or out of memory): what is left is dropped, and counted */
    struct store_link *it;
    while ((it = list_pop(&s->logq))) {
        s->st.log_dropped++;
        s->log_done++;
        gw_store_log_free_item((struct store_log *)it);
    }
    while ((it = list_pop(&s->opq))) {
        struct store_op *op = (struct store_op *)it;
        s->op_done++;
        if (op->kind == OP_CALL) {
            op->u.call.rc = GW_STORE_EUNAVAIL;
            op->u.call.state = 2; /* the caller frees it */
            continue;
        }
        if (op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL)
            s->pending_resp--;
        s->st.ops_dropped++;
        gw_store_op_free(op);
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    free(lv);
    free(ov);
    return NULL;
}

int gw_store_writer_start(struct gw_store *s, char *err, size_t errsize)
{
    s->next_retention_ms = gw_store_mono_ms(); /* a first pass right after start */
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        snprintf(err, errsize, "cannot start the store writer thread");
        return AIGW_EINTERNAL;
    }
    s->writer_started = 1;
    return 0;
}

void gw_store_writer_stop(struct gw_store *s)
{
    if (!s->writer_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    s->stop_deadline_ms = gw_store_mono_ms() + CLOSE_GRACE_MS;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->writer, NULL);
    s->writer_started = 0;
}
