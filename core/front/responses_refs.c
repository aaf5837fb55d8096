/*
 * responses_refs - item_reference input items, read back from the stored responses.
 *
 * The Vercel AI SDK (and other clients that keep `store` on) send earlier turns' items as
 * {"type":"item_reference","id":...} instead of the items themselves. Every item id minted
 * here carries its response's 48 digits (responses_render.c, responses_items.c), so no index
 * of items is needed: the response is read by id, with the key that asks (another key's is
 * not found, as for GET /v1/responses/{id}), and the item found in its output or its input.
 * Each referenced response is read once and its tree freed before the next, so a request
 * holds the items it names, not every response they came from.
 */
#include <stdlib.h>
#include <string.h>

#include "front/responses_int.h"
#include "lib/utf8.h"
#include "store/store.h"

#define DIGITS 48 /* after "resp_" (responses_parse.c's mint_id) */
/* What one request may read to resolve its references: the chain's own limits. */
#define REFS_RESPONSES 10000
#define REFS_BYTES ((size_t)64 << 20)

_Static_assert(GW_RESP_MAX_OUTPUT <= 0x10000, "output item ids have 4 digits of index");
_Static_assert(GW_RESP_MAX_ITEMS <= 0x100000, "input item ids have 5 digits of index");

struct ref {
    cJSON *item;    /* the item_reference in ctx->input_items */
    const char *id; /* its "id", until the item is replaced */
    int pos;        /* among the references, in input order */
    char resp[GW_RESP_ID_MAX];
};

static int is_ref(const cJSON *it)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
    return cJSON_IsString(t) && !strcmp(t->valuestring, "item_reference");
}

int gw_resp_count_refs(const cJSON *items)
{
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) n += is_ref(it);
    return n;
}

static int not_found(struct gw_front_err *err, const char *id)
{
    gw_resp_fail(err, "input", NULL,
                 "Item with id '%.*s' not found. Items are kept only from responses stored "
                 "with \"store\": true, for 30 days, for the key that made them.",
                 (int)gw_utf8_cut(id, strlen(id), 80), id);
    err->status = 404;
    return AIGW_EINVAL;
}

/* The response an id minted here belongs to: 1, or 0 for an id that is not one of ours. */
static int resp_of(const char *id, char out[GW_RESP_ID_MAX])
{
    const char *u = strchr(id, '_');
    if (!u || u - id > 5)
        return 0;
    const char *hex = u + 1;
    size_t n = strlen(hex);
    if (n != DIGITS + 4 && n != DIGITS + 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    memcpy(out, "resp_", 5);
    memcpy(out + 5, hex, DIGITS);
    out[5 + DIGITS] = '\0';
    return 1;
}

static int by_resp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    int c = strcmp(x->resp, y->resp);
    return c ? c : x->pos - y->pos;
}

static cJSON *find(cJSON *arr, const char *id)
{
    cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (cJSON_IsString(i) && !strcmp(i->valuestring, id))
            return it;
    }
    return NULL;
}

/* The n references g, all to one response: each replaced by a copy of its item. */
static int resolve_one(struct gw_resp_ctx *ctx, struct ref *g, int n, size_t *bytes,
                       struct gw_front_err *err)
{
    struct gw_stored_response rec;
    int rc = gw_store_response_get(ctx->st, g[0].resp, ctx->key_id, &rec);
    if (rc == GW_STORE_ENOTFOUND)
        return not_found(err, g[0].id);
    if (rc)
        return AIGW_EINTERNAL;
    *bytes += (rec.response_json ? strlen(rec.response_json) : 0) +
              (rec.input_items_json ? strlen(rec.input_items_json) : 0);
    if (*bytes > REFS_BYTES) {
        gw_stored_response_free(&rec);
        return gw_resp_fail(err, "input", NULL,
                            "the items referenced come from more than %zu MiB of stored "
                            "responses; send the items themselves",
                            REFS_BYTES >> 20);
    }
    cJSON *out = cJSON_Parse(rec.response_json ? rec.response_json : "");
    cJSON *in = NULL; /* parsed only when an item is not in the output */
    for (int i = 0; i < n && !rc; i++) {
        cJSON *found = find(cJSON_GetObjectItemCaseSensitive(out, "output"), g[i].id);
        if (!found) {
            if (!in)
                in = cJSON_Parse(rec.input_items_json ? rec.input_items_json : "");
            found = find(in, g[i].id);
        }
        /* Stored inputs were resolved before they were stored: a reference there is damage. */
        if (!found || is_ref(found)) {
            rc = not_found(err, g[i].id);
            break;
        }
        cJSON *copy = cJSON_Duplicate(found, 1);
        if (!copy || !cJSON_ReplaceItemViaPointer(ctx->input_items, g[i].item, copy)) {
            cJSON_Delete(copy);
            rc = AIGW_ENOMEM;
        }
        g[i].item = copy;
        g[i].id = NULL;
    }
    cJSON_Delete(out);
    cJSON_Delete(in);
    gw_stored_response_free(&rec);
    return rc;
}

int gw_resp_resolve_refs(struct gw_resp_ctx *ctx, cJSON *native, struct gw_front_err *err)
{
    int n = gw_resp_count_refs(ctx->input_items);
    if (!n)
        return 0;
    struct ref *refs = calloc((size_t)n, sizeof *refs);
    if (!refs)
        return AIGW_ENOMEM;
    int k = 0, rc = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, ctx->input_items)
    {
        if (!is_ref(it))
            continue;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        if (!cJSON_IsString(id) || !*id->valuestring) {
            rc = gw_resp_fail(err, "input", NULL, "an item_reference needs the 'id' of the item");
            break;
        }
        refs[k] = (struct ref){.item = it, .id = id->valuestring, .pos = k};
        if (!ctx->st || !resp_of(id->valuestring, refs[k].resp)) {
            rc = not_found(err, id->valuestring);
            break;
        }
        k++;
    }
    if (!rc)
        qsort(refs, (size_t)k, sizeof *refs, by_resp);
    size_t bytes = 0;
    for (int i = 0, groups = 0; i < k && !rc; groups++) {
        int j = i + 1;
        while (j < k && !strcmp(refs[j].resp, refs[i].resp))
            j++;
        if (groups >= REFS_RESPONSES)
            rc = gw_resp_fail(err, "input", NULL,
                              "the items referenced come from more than %d stored responses; "
                              "send the items themselves",
                              REFS_RESPONSES);
        else
            rc = resolve_one(ctx, refs + i, j - i, &bytes, err);
        i = j;
    }
    free(refs);
    /* A target that speaks Responses gets the items, not ids only this gateway knows. The
     * request's input array and ctx->input_items hold the same items in the same order. */
    cJSON *nin = native ? cJSON_GetObjectItemCaseSensitive(native, "input") : NULL;
    if (!rc && cJSON_IsArray(nin)) {
        cJSON *src = ctx->input_items->child;
        for (cJSON *dst = nin->child; dst && src && !rc; src = src->next) {
            cJSON *next = dst->next;
            if (is_ref(dst)) {
                cJSON *copy = cJSON_Duplicate(src, 1);
                if (!copy || !cJSON_ReplaceItemViaPointer(nin, dst, copy)) {
                    cJSON_Delete(copy);
                    rc = AIGW_ENOMEM;
                }
            }
            dst = next;
        }
    }
    return rc;
}
