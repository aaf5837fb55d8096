/*
 * store_queue - the bounded queues request threads write into (no I/O but the spool's
 * append): log rows drop their oldest past the caps, ledger rows and other writes are refused
 * when full (counted either way), and a call that runs on the writer waits a bounded time.
 * The writer that empties them is store_writer.c.
 */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aigw/plugin.h"

void gw_store_list_push(struct store_list *l, struct store_link *it)
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

struct store_link *gw_store_list_pop(struct store_list *l)
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

int gw_store_list_unlink(struct store_list *l, struct store_link *it)
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

void gw_store_wake_ts(struct timespec *ts, int64_t at_mono)
{
    ts->tv_sec = at_mono / 1000;
    ts->tv_nsec = (at_mono % 1000) * 1000000;
}

/* Wakes the writer if this push matters to it (s->mu held): a queue went from empty to not
 * (its linger starts; an op's is shorter than the logs' the writer may be sleeping out), or
 * the rows reached a batch worth writing at once. logs, ops: rows waiting in each queue
 * before the push. A signal per row would cost the request thread a futex call, the writer a
 * wake-up, whenever the writer sleeps. */
static void wake_locked(struct gw_store *s, size_t logs, size_t ops)
{
    size_t before = logs + ops, after = s->logq.n + s->opq.n;
    int64_t now = 0;
    if (!logs && s->logq.n)
        s->first_log_ms = now = gw_store_mono_ms();
    if (!ops && s->opq.n)
        s->first_op_ms = now ? now : gw_store_mono_ms();
    if (before == 0 || (!ops && s->opq.n) ||
        (before < STORE_LINGER_ROWS && after >= STORE_LINGER_ROWS))
        pthread_cond_signal(&s->wake);
}

/* Makes room for it in the log queue by dropping the oldest rows: fresh rows are worth more
 * than stale ones, and the request thread must not wait. s->mu held; the dropped rows are
 * chained on *dropped for the caller to free unlocked. */
static void log_room_locked(struct gw_store *s, struct store_log *it, struct store_link **dropped,
                            uint64_t *n)
{
    while (s->logq.n && (s->logq.n >= (size_t)s->o.log_queue_rows ||
                         s->logq.bytes + it->link.bytes > s->o.log_queue_bytes)) {
        struct store_link *old = gw_store_list_pop(&s->logq);
        gw_store_spool_done_locked(s, old);
        old->next = *dropped;
        *dropped = old;
        s->st.log_dropped++;
        s->log_done++;
        (*n)++;
    }
}

static void free_dropped(struct gw_store *s, struct store_link *dropped, uint64_t n)
{
    while (dropped) {
        struct store_link *next = dropped->next;
        gw_store_log_free_item((struct store_log *)dropped);
        dropped = next;
    }
    gw_store_dropped(s, "request_log", n);
}

/* 1 when the op queue has room for op (s->mu held). */
static int op_room_locked(struct gw_store *s, const struct store_op *op)
{
    return !s->stop && s->opq.n < (size_t)s->o.ops_queue_rows &&
           s->opq.bytes + op->link.bytes <= s->o.ops_queue_bytes;
}

static void op_push_locked(struct gw_store *s, struct store_op *op)
{
    if (op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL)
        s->pending_resp++;
    gw_store_list_push(&s->opq, &op->link);
    s->op_enq++;
}

/* The refusal of an op: counted, told, freed. Called unlocked. */
static int op_refused(struct gw_store *s, struct store_op *op)
{
    gw_store_dropped(s, op->kind == OP_LEDGER ? "ledger" : "store_writes", 1);
    gw_store_op_free(op);
    return GW_STORE_EFULL;
}

void gw_store_enqueue_log(struct gw_store *s, struct store_log *it)
{
    struct store_link *dropped = NULL;
    uint64_t ndropped = 0;
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        s->st.log_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_log_free_item(it);
        gw_store_dropped(s, "request_log", 1);
        return;
    }
    log_room_locked(s, it, &dropped, &ndropped);
    gw_store_spool_log_locked(s, it);
    size_t logs = s->logq.n, ops = s->opq.n;
    gw_store_list_push(&s->logq, &it->link);
    s->log_enq++;
    wake_locked(s, logs, ops);
    pthread_mutex_unlock(&s->mu);
    free_dropped(s, dropped, ndropped);
}

int gw_store_enqueue_op(struct gw_store *s, struct store_op *op)
{
    pthread_mutex_lock(&s->mu);
    if (!op_room_locked(s, op)) {
        s->st.ops_dropped++;
        pthread_mutex_unlock(&s->mu);
        return op_refused(s, op);
    }
    op->link.spool = 0;
    if (op->kind == OP_LEDGER)
        gw_store_spool_ledger_locked(s, op);
    size_t logs = s->logq.n, ops = s->opq.n;
    op_push_locked(s, op);
    wake_locked(s, logs, ops);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int gw_store_enqueue_pair(struct gw_store *s, struct store_op *op, struct store_log *it)
{
    pthread_mutex_lock(&s->mu);
    if (s->stop || !op_room_locked(s, op)) {
        /* the ledger cannot take it: the log row goes on alone */
        s->st.ops_dropped++;
        pthread_mutex_unlock(&s->mu);
        gw_store_enqueue_log(s, it);
        return op_refused(s, op);
    }
    struct store_link *dropped = NULL;
    uint64_t ndropped = 0;
    log_room_locked(s, it, &dropped, &ndropped);
    gw_store_spool_pair_locked(s, op, it);
    size_t logs = s->logq.n, ops = s->opq.n;
    op_push_locked(s, op);
    gw_store_list_push(&s->logq, &it->link);
    s->log_enq++;
    wake_locked(s, logs, ops);
    pthread_mutex_unlock(&s->mu);
    free_dropped(s, dropped, ndropped);
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
    gw_store_wake_ts(&ts, deadline);
    pthread_mutex_lock(&s->mu);
    if (s->stop) {
        pthread_mutex_unlock(&s->mu);
        free(op);
        return GW_STORE_EUNAVAIL;
    }
    gw_store_list_push(&s->opq, &op->link);
    s->op_enq++;
    s->hurry++;
    pthread_cond_signal(&s->wake);
    while (op->u.call.state != 2) {
        if (pthread_cond_timedwait(&s->done, &s->mu, &ts) != 0 && op->u.call.state == 0 &&
            gw_store_mono_ms() >= deadline) {
            /* still queued: take it back, the caller's ctx dies with this frame */
            gw_store_list_unlink(&s->opq, &op->link);
            s->op_done++;
            s->hurry--;
            pthread_mutex_unlock(&s->mu);
            free(op);
            return GW_STORE_EUNAVAIL;
        }
    }
    int rc = op->u.call.rc;
    s->hurry--;
    pthread_mutex_unlock(&s->mu);
    free(op);
    return rc;
}
