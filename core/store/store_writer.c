/*
 * store_writer - the one writer thread. Request threads only copy an item into a queue under
 * s->mu (store_queue.c); the writer takes up to a batch at a time and commits it in one
 * transaction. A dead, full or locked database makes the writer retry with backoff, keeping
 * the batch (and the spool its rows are in), while the log queue keeps dropping its oldest
 * rows: nothing ever waits for the database but the writer itself.
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
#define WRITE_WARN_MS 10000

/* Waits ms, or until close is asked (the wake condition is also signalled by every row
 * queued: those must not cut the wait short, or a dead database is retried in a busy loop).
 * 1 when stopping past its grace. */
static int backoff(struct gw_store *s, int64_t ms)
{
    int64_t until = gw_store_mono_ms() + ms;
    struct timespec ts;
    gw_store_wake_ts(&ts, until);
    pthread_mutex_lock(&s->mu);
    while (!s->stop && gw_store_mono_ms() < until)
        pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    int give_up = s->stop && gw_store_mono_ms() >= s->stop_deadline_ms;
    pthread_mutex_unlock(&s->mu);
    return give_up;
}

/* Makes sure the writer has a connection: 0, or 1 when it gave up (closing). One line for
 * the first failure and then one every WRITE_WARN_MS, with the count meanwhile. */
static int ensure_conn(struct gw_store *s)
{
    int64_t delay = 100, warned = 0;
    uint64_t failed = 0;
    while (!s->wconn) {
        char err[256] = "";
        if (s->ops->connect(s, 0, gw_store_mono_ms() + 5000, &s->wconn, err, sizeof err) == 0) {
            if (failed)
                gw_logf(AIGW_LOG_INFO, "store", NULL, "writer reconnected after %llu failures",
                        (unsigned long long)failed);
            break;
        }
        s->wconn = NULL;
        failed++;
        int64_t now = gw_store_mono_ms();
        if (!warned || now - warned >= WRITE_WARN_MS) {
            gw_logf(AIGW_LOG_WARN, "store", NULL, "writer reconnect (%llu failed so far): %s",
                    (unsigned long long)failed, err);
            warned = now;
        }
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

/* Names a failed write in the log: at once for the first, then one line every WRITE_WARN_MS
 * with the count meanwhile, and how many rows wait (a full disk or a held lock fails every
 * retry; the rows stay queued, and spooled, until the database takes them). */
static void write_failed(struct gw_store *s, int rc, const char *msg)
{
    s->write_failed++;
    int64_t now = gw_store_mono_ms();
    if (s->write_warned_ms && now - s->write_warned_ms < WRITE_WARN_MS)
        return;
    pthread_mutex_lock(&s->mu);
    size_t waiting = s->logq.n + s->opq.n + s->log_busy.n + s->op_busy.n;
    pthread_mutex_unlock(&s->mu);
    gw_logf(AIGW_LOG_WARN, "store", NULL,
            "%s write failed (%s), %llu time(s) since the last report; %zu rows %s", s->ops->name,
            msg && *msg ? msg : "no answer", (unsigned long long)s->write_failed, waiting,
            rc == GW_STORE_EUNAVAIL ? "kept queued, retrying" : "retried one by one");
    s->write_warned_ms = now;
    s->write_failed = 0;
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
    const char *why = NULL;
    if (rc) {
        /* said now: the rollback may overwrite the message */
        why = s->ops->reason ? s->ops->reason(c) : NULL;
        write_failed(s, rc, s->ops->errmsg(c));
        gw_sql_tx(s, c, "rollback", deadline);
        pthread_mutex_lock(&s->mu);
        s->st.write_errors++;
        pthread_mutex_unlock(&s->mu);
    }
    gw_store_observe_why(s, "write", t0, rc, why);
    return rc;
}

/* Writes a batch, reconnecting as needed. A batch the database refuses for its content is
 * retried one item per transaction so one bad row cannot sink the others; what still fails is
 * dropped and counted. Returns how many log rows were dropped; *ops_bad likewise, of which
 * *ledger_bad ledger rows. *gave_up: closing past the grace with the database away, nothing
 * written (spooled rows are then kept for the next start). */
static size_t write_batch(struct gw_store *s, struct store_log **logs, size_t nl,
                          struct store_op **ops, size_t no, size_t *ops_bad, size_t *ledger_bad,
                          int *gave_up)
{
    *ops_bad = *ledger_bad = 0;
    *gave_up = 0;
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
        /* One at a time. The database going away meanwhile is no verdict on a row: the whole
         * batch goes again once it is back (rows already in are skipped: every write is
         * idempotent by its key). */
        size_t bad = 0;
        int gone = 0;
        *ops_bad = *ledger_bad = 0;
        for (size_t i = 0; i < nl && !gone; i++) {
            int r1 = ensure_conn(s) ? GW_STORE_EUNAVAIL : write_tx(s, &logs[i], 1, NULL, 0);
            gone = r1 == GW_STORE_EUNAVAIL;
            bad += r1 && !gone;
        }
        for (size_t i = 0; i < no && !gone; i++) {
            int r1 = ensure_conn(s) ? GW_STORE_EUNAVAIL : write_tx(s, NULL, 0, &ops[i], 1);
            gone = r1 == GW_STORE_EUNAVAIL;
            if (r1 && !gone) {
                (*ops_bad)++;
                *ledger_bad += ops[i]->kind == OP_LEDGER;
            }
        }
        if (gone) {
            if (s->wconn)
                drop_conn(s);
            if (backoff(s, delay))
                break;
            delay = delay * 2 > 5000 ? 5000 : delay * 2;
            continue;
        }
        if (bad || *ops_bad)
            gw_logf(AIGW_LOG_ERROR, "store", NULL,
                    "dropped %zu log rows and %zu writes the %s"
                    " database refused",
                    bad, *ops_bad, s->ops->name);
        return bad;
    }
    *gave_up = 1;
    *ops_bad = no;
    for (size_t i = 0; i < no; i++)
        *ledger_bad += ops[i]->kind == OP_LEDGER;
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
    gw_store_list_unlink(&s->op_busy, &op->link);
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
        gw_store_list_push(&s->op_busy, gw_store_list_pop(&s->opq));
        ops[(*no)++] = head;
        head->u.call.state = 1;
        return;
    }
    while (*nl < BATCH_LOGS && s->logq.n) {
        struct store_link *it = gw_store_list_pop(&s->logq);
        gw_store_list_push(&s->log_busy, it);
        logs[(*nl)++] = (struct store_log *)it;
    }
    while (*no < BATCH_OPS && s->opq.n) {
        struct store_op *op = (struct store_op *)s->opq.head;
        if (op->kind == OP_CALL)
            break; /* next time, alone, in its own transaction */
        gw_store_list_push(&s->op_busy, gw_store_list_pop(&s->opq));
        ops[(*no)++] = op;
    }
}

int64_t gw_store_linger_until(size_t logs, int64_t first_log_ms, size_t ops, int64_t first_op_ms)
{
    int64_t until = logs ? first_log_ms + STORE_LINGER_LOG_MS : INT64_MAX;
    if (ops && first_op_ms + STORE_LINGER_OPS_MS < until)
        until = first_op_ms + STORE_LINGER_OPS_MS;
    return until;
}

/* Lets rows gather (s->mu held; see STORE_LINGER_LOG_MS): 1 when it waited. */
static int linger_locked(struct gw_store *s, int64_t now)
{
    if (s->stop || s->hurry || s->logq.n + s->opq.n >= STORE_LINGER_ROWS)
        return 0;
    int64_t until = gw_store_linger_until(s->logq.n, s->first_log_ms, s->opq.n, s->first_op_ms);
    if (now >= until)
        return 0;
    struct timespec ts;
    gw_store_wake_ts(&ts, until);
    pthread_cond_timedwait(&s->wake, &s->mu, &ts);
    return 1;
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
                gw_store_wake_ts(&ts, s->next_retention_ms < now + 1000 ? s->next_retention_ms
                                                                        : now + 1000);
                pthread_cond_timedwait(&s->wake, &s->mu, &ts);
                continue;
            }
        } else if (linger_locked(s, now)) {
            continue;
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
        size_t ops_bad = 0, logs_bad = 0, ledger_bad = 0;
        int gave_up = 0;
        if (nl || no)
            logs_bad = write_batch(s, lv, nl, ov, no, &ops_bad, &ledger_bad, &gave_up);
        if (due)
            retention(s);
        pthread_mutex_lock(&s->mu);
        if (gave_up) {
            /* not dropped: what the spool holds is written at the next start */
            for (size_t i = 0; i < nl; i++)
                logs_bad -= lv[i]->link.spool != 0;
            for (size_t i = 0; i < no; i++) {
                ops_bad -= ov[i]->link.spool != 0;
                ledger_bad -= ov[i]->link.spool != 0;
            }
        }
        s->st.log_written += gave_up ? 0 : nl - logs_bad;
        s->st.log_dropped += logs_bad;
        s->st.ops_dropped += ops_bad;
        s->log_done += nl;
        s->op_done += no;
        struct store_link *lfree = s->log_busy.head, *ofree = s->op_busy.head;
        for (size_t i = 0; i < no; i++) {
            if (ov[i]->kind == OP_RESP_PUT || ov[i]->kind == OP_RESP_DEL)
                s->pending_resp--;
            if (!gave_up)
                gw_store_spool_done_locked(s, &ov[i]->link);
        }
        for (size_t i = 0; i < nl && !gave_up; i++)
            gw_store_spool_done_locked(s, &lv[i]->link);
        gw_store_spool_tidy_locked(s);
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
        gw_store_dropped(s, "request_log", logs_bad);
        gw_store_dropped(s, "ledger", ledger_bad);
        gw_store_dropped(s, "store_writes", ops_bad - ledger_bad);
        pthread_mutex_lock(&s->mu);
    }
    /* closing past the grace (or out of memory): what is left is dropped, and counted,
     * unless the spool keeps it for the next start */
    struct store_link *it;
    uint64_t lost_logs = 0, lost_ledger = 0, lost_ops = 0;
    while ((it = gw_store_list_pop(&s->logq))) {
        if (!it->spool) {
            s->st.log_dropped++;
            lost_logs++;
        }
        s->log_done++;
        gw_store_log_free_item((struct store_log *)it);
    }
    while ((it = gw_store_list_pop(&s->opq))) {
        struct store_op *op = (struct store_op *)it;
        s->op_done++;
        if (op->kind == OP_CALL) {
            op->u.call.rc = GW_STORE_EUNAVAIL;
            op->u.call.state = 2; /* the caller frees it */
            continue;
        }
        if (op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL)
            s->pending_resp--;
        if (!op->link.spool) {
            s->st.ops_dropped++;
            *(op->kind == OP_LEDGER ? &lost_ledger : &lost_ops) += 1;
        }
        gw_store_op_free(op);
    }
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    gw_store_dropped(s, "request_log", lost_logs);
    gw_store_dropped(s, "ledger", lost_ledger);
    gw_store_dropped(s, "store_writes", lost_ops);
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
