/* responses_state - stored responses and previous_response_id chains (see responses.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "front/body.h"
#include "front/render.h"
#include "front/responses_int.h"
#include "lib/crypto.h"
#include "lib/jsonprint.h"
#include "lib/log.h"
#include "plugin/errors.h"
#include "store/store.h"

#define TTL_S (30 * 86400) /* what OpenAI keeps a stored response for */
#define CHAIN_MAX 10000    /* responses in one chain */
/* The stored JSON one chain may read: it is all in memory at once, then parsed, then built
 * into the upstream request (about three times its size at the peak). */
#define CHAIN_BYTES ((size_t)64 << 20)

/* ---- where responses are kept, and whose they are --------------------------------------- */

static struct gw_store *chosen;
static pthread_once_t made_once = PTHREAD_ONCE_INIT;
static struct gw_store *made;

/* With no store chosen (tests, a gateway started without one), responses live in a private
 * in-memory store for the life of the process. */
static void make_store(void)
{
    char err[256];
    made = gw_store_open("memory:", NULL, err, sizeof err);
    if (!made)
        gw_logf(AIGW_LOG_ERROR, "responses", NULL, "no store for responses: %s", err);
}

void gw_responses_use_store(struct gw_store *st)
{
    __atomic_store_n(&chosen, st, __ATOMIC_RELEASE);
}

struct gw_store *gw_responses_store(void)
{
    struct gw_store *st = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (st)
        return st;
    pthread_once(&made_once, make_store);
    return made;
}

void gw_resp_owner(const char *key_id, const char *(*header)(void *ud, const char *name), void *ud,
                   char out[GW_RESP_ID_MAX])
{
    if (key_id && *key_id) {
        /* A gateway key: its public id, the same on every replica and after a rotation. */
        snprintf(out, GW_RESP_ID_MAX, "%s", key_id);
        return;
    }
    const char *auth = header ? header(ud, "Authorization") : NULL;
    const char *tok = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    if (!tok && header)
        tok = header(ud, "x-api-key");
    out[0] = '\0';
    if (!tok || !*tok)
        return;
    /* The key itself is never kept: its hash tells one caller from another. */
    unsigned char h[32];
    char hex[65];
    gw_sha256(tok, strlen(tok), h);
    gw_hex(h, 16, hex);
    snprintf(out, GW_RESP_ID_MAX, "key_%.32s", hex);
}

static int not_found(struct gw_front_err *err, const char *id)
{
    return gw_resp_fail(err, "previous_response_id", "previous_response_not_found",
                        "Previous response with id '%.80s' not found.", id);
}

/* Appends the items of array `key` of the JSON text s to items. */
static int append_items(cJSON *items, const char *s, const char *key)
{
    cJSON *j = cJSON_Parse(s ? s : "");
    cJSON *arr = key ? cJSON_GetObjectItemCaseSensitive(j, key) : j;
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(j);
        return AIGW_EPROTO;
    }
    while (arr->child) {
        if (cJSON_GetArraySize(items) >= GW_RESP_MAX_ITEMS) {
            cJSON_Delete(j);
            return AIGW_ETOOBIG;
        }
        cJSON_AddItemToArray(items, cJSON_DetachItemViaPointer(arr, arr->child));
    }
    cJSON_Delete(j);
    return 0;
}

/* The chain's items, oldest first: each ancestor's input items, then its output. */
static int load_chain(struct gw_resp_ctx *ctx, cJSON *items, struct gw_front_err *err)
{
    struct gw_stored_response *recs = calloc(CHAIN_MAX, sizeof *recs);
    if (!recs)
        return AIGW_ENOMEM;
    int n = 0, rc = 0;
    size_t bytes = 0, values = 0;
    char id[GW_RESP_ID_MAX];
    gw_strlcpy(id, ctx->previous_id, sizeof id);
    while (id[0]) {
        if (n >= CHAIN_MAX) {
            rc = gw_resp_fail(err, "previous_response_id", NULL,
                              "the response chain is longer than %d responses", CHAIN_MAX);
            break;
        }
        int g = gw_store_response_get(ctx->st, id, ctx->key_id, &recs[n]);
        if (g == GW_STORE_ENOTFOUND) {
            rc = not_found(err, ctx->previous_id);
            break;
        }
        if (g) {
            rc = AIGW_EINTERNAL;
            break;
        }
        const char *in = recs[n].input_items_json ? recs[n].input_items_json : "";
        size_t inlen = strlen(in);
        size_t v = gw_body_count_values(in, inlen, GW_BODY_MAX_VALUES - values);
        values += v;
        bytes += inlen + (recs[n].response_json ? strlen(recs[n].response_json) : 0);
        gw_strlcpy(id, recs[n].previous_id, sizeof id);
        n++;
        /* The client's input is where values can be many and small (the body rule's reason);
         * what was answered is text the renderer wrote. */
        if (bytes > CHAIN_BYTES || values > GW_BODY_MAX_VALUES) {
            rc = gw_resp_fail(err, "previous_response_id", NULL,
                              "the response chain is too large to continue (more than %zu MiB "
                              "or %d JSON values stored); start a new conversation",
                              CHAIN_BYTES >> 20, GW_BODY_MAX_VALUES);
            break;
        }
    }
    for (int i = n - 1; i >= 0 && !rc; i--) {
        rc = append_items(items, recs[i].input_items_json, NULL);
        if (!rc)
            rc = append_items(items, recs[i].response_json, "output");
        if (rc == AIGW_ETOOBIG)
            rc = gw_resp_fail(err, "previous_response_id", NULL,
                              "the response chain holds more than %d items", GW_RESP_MAX_ITEMS);
        else if (rc == AIGW_EPROTO)
            rc = not_found(err, ctx->previous_id); /* a damaged row reads as a missing one */
    }
    for (int i = 0; i < n; i++)
        gw_stored_response_free(&recs[i]);
    free(recs);
    return rc;
}

int gw_responses_resolve(struct gw_parsed *p, struct gw_store *st, const char *key_id,
                         struct gw_front_err *err)
{
    struct gw_resp_ctx *ctx = p->ctx;
    ctx->st = st;
    gw_strlcpy(ctx->key_id, key_id ? key_id : "", sizeof ctx->key_id);
    int rc = ctx->nrefs ? gw_resp_resolve_refs(ctx, p->native, err) : 0;
    if (rc)
        return rc;
    if (!ctx->previous_id[0])
        return ctx->nrefs ? gw_resp_build_messages(p, NULL, err) : 0;
    if (!st)
        return not_found(err, ctx->previous_id);
    cJSON *chain = cJSON_CreateArray();
    if (!chain)
        return AIGW_ENOMEM;
    rc = load_chain(ctx, chain, err);
    if (!rc)
        rc = gw_resp_build_messages(p, chain, err);
    if (!rc && p->native) {
        /* A target that speaks Responses gets the whole conversation and no id it cannot
         * know: the chain lives here, not upstream. */
        for (cJSON *it = ctx->input_items->child; it && !rc; it = it->next) {
            cJSON *d = cJSON_Duplicate(it, 1);
            if (!d)
                rc = AIGW_ENOMEM;
            else
                cJSON_AddItemToArray(chain, d);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(p->native, "input");
        cJSON_DeleteItemFromObjectCaseSensitive(p->native, "previous_response_id");
        cJSON_AddItemToObject(p->native, "input", chain);
        chain = NULL;
    }
    cJSON_Delete(chain);
    return rc;
}

/* item as cJSON_PrintUnformatted prints it, in memory free() takes; NULL for no item. */
static char *printed(const cJSON *item)
{
    struct gw_buf b;
    gw_buf_init(&b, 0);
    if (!item || gw_json_print(&b, item) != 0) {
        gw_buf_free(&b);
        return NULL;
    }
    return gw_buf_steal(&b, NULL);
}

/* The stored request: the echoed parameters with "model" last, the bytes cJSON prints for the
 * echo's members with the model added. The parse printed the echo as runs of ,"k":v in its
 * order (struct gw_resp_ctx): without the first comma, they are the object's members (a copy,
 * a print and a free per stored answer were 10 % of a Responses request's instructions). */
int gw_resp_keep(const struct gw_resp_render *r, const char *response_json, size_t len)
{
    const struct gw_resp_ctx *ctx = r->ctx;
    (void)len;
    if (!ctx->store || !ctx->st)
        return 0;
    struct gw_stored_response row;
    memset(&row, 0, sizeof row);
    gw_strlcpy(row.id, ctx->id, sizeof row.id);
    gw_strlcpy(row.key_id, ctx->key_id, sizeof row.key_id);
    gw_strlcpy(row.previous_id, ctx->previous_id, sizeof row.previous_id);
    row.created_at = ctx->created_at;
    row.expires_at = ctx->created_at + TTL_S;
    row.response_json = (char *)response_json;
    row.input_items_json = printed(ctx->input_items);
    int rc = row.input_items_json ? gw_store_response_put(ctx->st, &row) : AIGW_ENOMEM;
    if (rc)
        gw_logf(AIGW_LOG_WARN, "responses", NULL, "response %s was not stored (%d)", ctx->id, rc);
    free(row.input_items_json);
    return rc;
}

/* ---- the stored-response routes --------------------------------------------------------- */

/* id as an error may quote it: its first 80 bytes, printable ASCII as every id minted here
 * is, '?' for any other byte. A path can hold any bytes, and JSON must be UTF-8. */
static const char *shown(const char *id, char out[81])
{
    size_t i = 0;
    for (; id[i] && i < 80; i++)
        out[i] = id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?';
    out[i] = '\0';
    return out;
}

static int missing(struct gw_buf *out, int *status, const char *id)
{
    char msg[160], s[81];
    snprintf(msg, sizeof msg, "No response found with id '%s'.", shown(id, s));
    *status = 404;
    return gw_error_json(out, "invalid_request_error", NULL, NULL, msg);
}

int gw_responses_get(struct gw_store *st, const char *key_id, const char *id, struct gw_buf *out,
                     int *status)
{
    struct gw_stored_response row;
    memset(&row, 0, sizeof row);
    int g = st ? gw_store_response_get(st, id, key_id ? key_id : "", &row) : GW_STORE_ENOTFOUND;
    if (g == GW_STORE_ENOTFOUND)
        return missing(out, status, id);
    if (g) {
        *status = 500;
        return gw_error_json(out, "server_error", NULL, NULL, "the response store failed");
    }
    *status = 200;
    int rc = gw_buf_append_str(out, row.response_json ? row.response_json : "{}");
    gw_stored_response_free(&row);
    return rc;
}

int gw_responses_delete(struct gw_store *st, const char *key_id, const char *id, struct gw_buf *out,
                        int *status)
{
    int g = st ? gw_store_response_delete(st, id, key_id ? key_id : "") : GW_STORE_ENOTFOUND;
    if (g == GW_STORE_ENOTFOUND)
        return missing(out, status, id);
    if (g) {
        *status = 500;
        return gw_error_json(out, "server_error", NULL, NULL, "the response store failed");
    }
    *status = 200;
    int rc = gw_buf_append_str(out, "{\"id\":");
    if (!rc)
        rc = gw_json_escape(out, id, strlen(id));
    return rc ? rc : gw_buf_append_str(out, ",\"object\":\"response\",\"deleted\":true}");
}

/* A query argument into out; 1 found, 0 absent, -1 too long. */
static int query_value(const char *(*arg)(void *ud, const char *name), void *ud, const char *key,
                       char *out, size_t size)
{
    const char *v = arg ? arg(ud, key) : NULL;
    if (!v)
        return 0;
    return gw_strlcpy(out, v, size) < size ? 1 : -1;
}

static int bad_query(struct gw_buf *out, int *status, const char *param, const char *msg)
{
    *status = 400;
    return gw_error_json(out, "invalid_request_error", NULL, param, msg);
}

int gw_responses_input_items_list(struct gw_store *st, const char *key_id, const char *id,
                                  const char *(*arg)(void *ud, const char *name), void *ud,
                                  struct gw_buf *out, int *status)
{
    char v[GW_RESP_ID_MAX], after[GW_RESP_ID_MAX] = "";
    long limit = 20;
    int desc = 1;
    if (query_value(arg, ud, "limit", v, sizeof v) > 0) {
        char *end;
        limit = strtol(v, &end, 10);
        if (*end || limit < 1 || limit > 100)
            return bad_query(out, status, "limit", "'limit' must be between 1 and 100");
    }
    if (query_value(arg, ud, "order", v, sizeof v) > 0) {
        if (strcmp(v, "asc") && strcmp(v, "desc"))
            return bad_query(out, status, "order", "'order' must be asc or desc");
        desc = !strcmp(v, "desc");
    }
    if (query_value(arg, ud, "after", after, sizeof after) < 0)
        return bad_query(out, status, "after", "'after' is not an item id");
    struct gw_stored_response row;
    memset(&row, 0, sizeof row);
    int g = st ? gw_store_response_get(st, id, key_id ? key_id : "", &row) : GW_STORE_ENOTFOUND;
    if (g == GW_STORE_ENOTFOUND)
        return missing(out, status, id);
    if (g) {
        *status = 500;
        return gw_error_json(out, "server_error", NULL, NULL, "the response store failed");
    }
    cJSON *items = cJSON_Parse(row.input_items_json ? row.input_items_json : "[]");
    gw_stored_response_free(&row);
    int n = cJSON_GetArraySize(items), step = desc ? -1 : 1;
    int i = desc ? n - 1 : 0;
    if (after[0]) { /* start past the item named */
        for (; i >= 0 && i < n; i += step) {
            const cJSON *iid = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, i), "id");
            if (cJSON_IsString(iid) && !strcmp(iid->valuestring, after)) {
                i += step;
                break;
            }
        }
    }
    cJSON *list = cJSON_CreateObject();
    cJSON_AddStringToObject(list, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(list, "data");
    long taken = 0;
    for (; i >= 0 && i < n && taken < limit; i += step, taken++)
        cJSON_AddItemToArray(data, cJSON_Duplicate(cJSON_GetArrayItem(items, i), 1));
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, 0), "id");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(data, cJSON_GetArraySize(data) - 1), "id");
    cJSON_AddItemToObject(list, "first_id",
                          cJSON_IsString(first) ? cJSON_CreateString(first->valuestring)
                                                : cJSON_CreateNull());
    cJSON_AddItemToObject(list, "last_id",
                          cJSON_IsString(last) ? cJSON_CreateString(last->valuestring)
                                               : cJSON_CreateNull());
    cJSON_AddBoolToObject(list, "has_more", i >= 0 && i < n);
    char *s = cJSON_PrintUnformatted(list);
    cJSON_Delete(list);
    cJSON_Delete(items);
    if (!s)
        return AIGW_ENOMEM;
    *status = 200;
    int rc = gw_buf_append_str(out, s);
    free(s);
    return rc;
}
