/*
 * store_resp - stored responses for the Responses API (previous_response_id, GET and DELETE
 * /v1/responses/{id}). A put is queued like any write; until the writer commits it, get and
 * delete find it (or its deletion) in the queue, so a client chaining turns quickly never
 * sees a "not found" for a response it was just given. A response belongs to the key that
 * made it: another key gets "not found", exactly as for a missing one.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

#define RESP_CAP (16u << 20)

void gw_stored_response_clear(struct gw_stored_response *r)
{
    free(r->response_json);
    free(r->input_items_json);
    r->response_json = r->input_items_json = NULL;
}

void gw_stored_response_free(struct gw_stored_response *r)
{
    if (r)
        gw_stored_response_clear(r);
}

static int dup_opt(const char *in, char **out)
{
    *out = NULL;
    if (!in)
        return 0;
    *out = strdup(in);
    return *out ? 0 : AIGW_ENOMEM;
}

static int copy_resp(struct gw_stored_response *dst, const struct gw_stored_response *src)
{
    *dst = *src;
    dst->response_json = dst->input_items_json = NULL;
    if (dup_opt(src->response_json, &dst->response_json) ||
        dup_opt(src->input_items_json, &dst->input_items_json)) {
        gw_stored_response_clear(dst);
        return AIGW_ENOMEM;
    }
    return 0;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

int gw_store_response_put(struct gw_store *s, const struct gw_stored_response *r)
{
    if (!r || !r->id[0] || memchr(r->id, 0, sizeof r->id) == NULL ||
        memchr(r->key_id, 0, sizeof r->key_id) == NULL ||
        memchr(r->previous_id, 0, sizeof r->previous_id) == NULL)
        return AIGW_EINVAL;
    size_t bytes = slen(r->response_json) + slen(r->input_items_json);
    if (bytes > RESP_CAP)
        return AIGW_ETOOBIG;
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return AIGW_ENOMEM;
    op->kind = OP_RESP_PUT;
    op->link.bytes = sizeof *op + bytes;
    if (copy_resp(&op->u.resp, r)) {
        free(op);
        return AIGW_ENOMEM;
    }
    gw_sql_clean_inplace(op->u.resp.id);
    gw_sql_clean_inplace(op->u.resp.key_id);
    gw_sql_clean_inplace(op->u.resp.previous_id);
    if (!op->u.resp.created_at)
        op->u.resp.created_at = gw_store_now_ms() / 1000;
    return gw_store_enqueue_op(s, op);
}

static int visible(const struct gw_stored_response *r, const char *key_id, int64_t now_s)
{
    return !strcmp(r->key_id, key_id) && (!r->expires_at || r->expires_at > now_s);
}

/* The latest queued put or delete of id by key_id (s->mu held), or NULL. Other keys' ops
 * cannot change this key's row (the writer's upsert is conditional on the owner). */
static const struct store_op *pending(struct gw_store *s, const char *id, const char *key_id)
{
    const struct store_op *last = NULL;
    const struct store_list *lists[2] = {&s->op_busy, &s->opq};
    for (int l = 0; l < 2; l++) {
        for (const struct store_link *it = lists[l]->head; it; it = it->next) {
            const struct store_op *op = (const struct store_op *)it;
            if ((op->kind == OP_RESP_PUT || op->kind == OP_RESP_DEL) &&
                !strcmp(op->u.resp.id, id) && !strcmp(op->u.resp.key_id, key_id))
                last = op;
        }
    }
    return last;
}

/* 1 and a copy in out when the queue decides, 0 when the database must answer, or <0. */
static int from_queue(struct gw_store *s, const char *id, const char *key_id, int64_t now_s,
                      struct gw_stored_response *out)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    const struct store_op *op = s->pending_resp ? pending(s, id, key_id) : NULL;
    if (op && (op->kind == OP_RESP_DEL || !visible(&op->u.resp, key_id, now_s)))
        rc = GW_STORE_ENOTFOUND;
    else if (op)
        rc = out && copy_resp(out, &op->u.resp) ? AIGW_ENOMEM : 1;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

struct get_ctx {
    const char *id, *key_id;
    int64_t now_s;
    struct gw_stored_response *out;
    int found;
};

static int get_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)len;
    struct get_ctx *g = ctx;
    if (ncol < 7)
        return AIGW_EINTERNAL;
    if (!g->out) {
        g->found = 1;
        return 0;
    }
    struct gw_stored_response *r = g->out;
    gw_stored_response_clear(r);
    memset(r, 0, sizeof *r);
    gw_sql_str(r->id, sizeof r->id, v[0]);
    gw_sql_str(r->key_id, sizeof r->key_id, v[1]);
    gw_sql_str(r->previous_id, sizeof r->previous_id, v[2]);
    r->created_at = gw_sql_i64(v[3]);
    r->expires_at = gw_sql_i64(v[4]);
    if (dup_opt(v[5], &r->response_json) || dup_opt(v[6], &r->input_items_json))
        return AIGW_ENOMEM;
    g->found = 1;
    return 0;
}

static int do_get(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct get_ctx *g = ctx;
    struct gw_sql_param p[] = {gw_sql_text(g->id), gw_sql_text(g->key_id), gw_sql_int(g->now_s)};
    return s->ops->exec(
        c,
        g->out
            ? "SELECT id, key_id, previous_id, created_at, expires_at,"
              " response_json, input_items_json FROM aigw_responses WHERE id = $1 AND key_id = $2"
              " AND (expires_at = 0 OR expires_at > $3)"
            : "SELECT id, key_id, previous_id, created_at, expires_at,"
              " NULL, NULL FROM aigw_responses WHERE id = $1"
              " AND key_id = $2 AND (expires_at = 0 OR expires_at > $3)",
        p, 3, get_row, g, deadline);
}

/* Shared by get (out set) and delete's existence check (out NULL). */
static int lookup(struct gw_store *s, const char *id, const char *key_id,
                  struct gw_stored_response *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!id || !*id)
        return GW_STORE_ENOTFOUND;
    if (!key_id)
        key_id = "";
    int64_t now_s = gw_store_now_ms() / 1000;
    int rc = from_queue(s, id, key_id, now_s, out);
    if (rc)
        return rc < 0 ? rc : 0;
    struct get_ctx g = {id, key_id, now_s, out, 0};
    rc = gw_store_read(s, "response_get", do_get, &g);
    if (rc || !g.found) {
        if (out)
            gw_stored_response_clear(out);
        return rc ? rc : GW_STORE_ENOTFOUND;
    }
    return 0;
}

int gw_store_response_get(struct gw_store *s, const char *id, const char *key_id,
                          struct gw_stored_response *out)
{
    return lookup(s, id, key_id, out);
}

int gw_store_response_delete(struct gw_store *s, const char *id, const char *key_id)
{
    int rc = lookup(s, id, key_id, NULL);
    if (rc)
        return rc;
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return AIGW_ENOMEM;
    op->kind = OP_RESP_DEL;
    op->link.bytes = sizeof *op;
    gw_strlcpy(op->u.resp.id, id, sizeof op->u.resp.id);
    gw_strlcpy(op->u.resp.key_id, key_id ? key_id : "", sizeof op->u.resp.key_id);
    return gw_store_enqueue_op(s, op);
}

int gw_store_write_resp(struct gw_store *s, struct gw_sql_conn *c, const struct store_op *op,
                        int64_t deadline)
{
    const struct gw_stored_response *r = &op->u.resp;
    if (op->kind == OP_RESP_DEL) {
        struct gw_sql_param p[] = {gw_sql_text(r->id), gw_sql_text(r->key_id)};
        return s->ops->exec(c, "DELETE FROM aigw_responses WHERE id = $1 AND key_id = $2", p, 2,
                            NULL, NULL, deadline);
    }
    char *clean[2] = {
        r->response_json ? gw_sql_clean_dup(r->response_json, strlen(r->response_json)) : NULL,
        r->input_items_json ? gw_sql_clean_dup(r->input_items_json, strlen(r->input_items_json))
                            : NULL,
    };
    int rc = AIGW_ENOMEM;
    if ((!r->response_json || clean[0]) && (!r->input_items_json || clean[1])) {
        struct gw_sql_param p[] = {
            gw_sql_text(r->id),        gw_sql_text(r->key_id),    gw_sql_text(r->previous_id),
            gw_sql_int(r->created_at), gw_sql_int(r->expires_at), gw_sql_text(clean[0]),
            gw_sql_text(clean[1]),
        };
        /* The same id again replaces the row: the caller owns ids. request_json (schema 1)
         * is left NULL: the response object repeats every parameter it held. */
        rc = s->ops->exec(c,
                          "INSERT INTO aigw_responses (id, key_id, previous_id, created_at,"
                          " expires_at, response_json, input_items_json)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE"
                          " SET key_id = excluded.key_id, previous_id = excluded.previous_id,"
                          " created_at = excluded.created_at, expires_at = excluded.expires_at,"
                          " request_json = NULL, response_json = excluded.response_json,"
                          " input_items_json = excluded.input_items_json"
                          " WHERE aigw_responses.key_id = excluded.key_id",
                          p, 7, NULL, NULL, deadline);
    }
    for (int i = 0; i < 2; i++)
        free(clean[i]);
    return rc;
}
