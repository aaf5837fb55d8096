/* admin_keys - the gateway-key admin operations (see admin_keys.h). */
#include "admin/admin_keys.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aigw/plugin.h"
#include "plugin/errors.h"

#define GRACE_MAX (90 * 86400)

static int fail(struct gw_buf *out, int *status, int st, const char *code, const char *param,
                const char *msg)
{
    *status = st;
    gw_buf_reset(out);
    return gw_error_json(out, gw_error_type_for_status(st), code, param, msg);
}

/* A store result that is not 0 as an answer. */
static int store_fail(struct gw_buf *out, int *status, int rc, const char *err)
{
    switch (rc) {
    case GW_STORE_ENOTFOUND:
        return fail(out, status, 404, "key_not_found", NULL, "no such key");
    case AIGW_EINVAL:
        return fail(out, status, 400, "invalid_value", NULL, err && *err ? err : "invalid");
    case GW_STORE_EUNAVAIL:
        return fail(out, status, 503, "store_unavailable", NULL,
                    "the key store did not answer in time; retry");
    default:
        return fail(out, status, 500, "store_error", NULL, "the key store failed");
    }
}

static cJSON *num_or_null(int64_t v, int64_t null_below)
{
    return v < null_below ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

static cJSON *list_json(char **v, size_t n)
{
    if (!v)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* The key object every answer shows. token: the secret to show once, or NULL. */
static cJSON *key_json(const struct gw_key *k, const char *token)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", k->id);
    cJSON_AddStringToObject(o, "object", "gateway.key");
    if (token)
        cJSON_AddStringToObject(o, "key", token);
    cJSON_AddStringToObject(o, "name", k->name);
    cJSON_AddStringToObject(o, "owner", k->owner);
    cJSON *meta = k->metadata_json ? cJSON_Parse(k->metadata_json) : NULL;
    cJSON_AddItemToObject(o, "metadata", meta ? meta : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "models", list_json(k->models, k->n_models));
    cJSON_AddItemToObject(o, "providers", list_json(k->providers, k->n_providers));
    cJSON_AddItemToObject(o, "rpm", num_or_null(k->rpm, 0));
    cJSON_AddItemToObject(o, "tpm", num_or_null(k->tpm, 0));
    cJSON_AddItemToObject(o, "budget_usd",
                          k->budget_usd < 0 ? cJSON_CreateNull()
                                            : cJSON_CreateNumber(k->budget_usd));
    cJSON_AddStringToObject(o, "budget_period", gw_budget_period_str(k->budget_period));
    cJSON_AddNumberToObject(o, "spend_usd", k->spend_usd);
    cJSON_AddItemToObject(o, "period_start", num_or_null(k->period_start, 1));
    cJSON_AddItemToObject(o, "budget_reset_at", num_or_null(k->period_reset, 1));
    cJSON_AddItemToObject(o, "expires_at", num_or_null(k->expires_at, 1));
    /* what authentication says of it now: an expired key is refused like a revoked one */
    int expired = k->expires_at > 0 && (int64_t)time(NULL) >= k->expires_at;
    cJSON_AddStringToObject(o, "state",
                            k->state != GW_KEY_ACTIVE ? "revoked"
                            : expired                 ? "expired"
                                                      : "active");
    cJSON_AddNumberToObject(o, "created_at", (double)k->created_at);
    cJSON_AddNumberToObject(o, "updated_at", (double)k->updated_at);
    cJSON_AddItemToObject(o, "revoked_at", num_or_null(k->revoked_at, 1));
    cJSON_AddItemToObject(o, "last_used_at", num_or_null(k->last_used_at, 1));
    cJSON_AddItemToObject(o, "previous_key_valid_until", num_or_null(k->prev_valid_until, 1));
    return o;
}

static int emit(struct gw_buf *out, int *status, int st, cJSON *doc)
{
    char *s = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON *secret = cJSON_GetObjectItemCaseSensitive(doc, "key");
    if (cJSON_IsString(secret))
        OPENSSL_cleanse(secret->valuestring, strlen(secret->valuestring));
    cJSON_Delete(doc);
    if (!s)
        return fail(out, status, 500, "internal_error", NULL, "out of memory");
    gw_buf_reset(out);
    int rc = gw_buf_append_str(out, s);
    /* the document may hold a secret: scrub the copy before it goes back to the heap */
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    *status = st;
    return rc;
}

/* Reads the body into spec. Strings in spec point into root (or into *owned). 0, or an
 * error answer already written (returns 1). */
struct body {
    cJSON *root;
    char *models, *providers, *metadata; /* printed JSON the spec points at */
    int64_t grace_s;
};

static void body_free(struct body *b)
{
    cJSON_Delete(b->root);
    free(b->models);
    free(b->providers);
    free(b->metadata);
}

static int bad_field(struct gw_buf *out, int *status, const char *field, const char *msg)
{
    char m[200];
    snprintf(m, sizeof m, "%s: %s", field, msg);
    fail(out, status, 400, "invalid_value", field, m);
    return 1;
}

/* An integer field: null gives nul, else a whole number in [0, max]. */
static int int_field(const cJSON *it, int64_t nul, int64_t max, int64_t *v)
{
    if (cJSON_IsNull(it)) {
        *v = nul;
        return 0;
    }
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) || it->valuedouble > (double)max ||
        floor(it->valuedouble) != it->valuedouble)
        return -1;
    *v = (int64_t)it->valuedouble;
    return 0;
}

static int json_field(const cJSON *it, int want_array, char **printed)
{
    if (cJSON_IsNull(it)) {
        free(*printed);
        *printed = NULL;
        return 0;
    }
    if (want_array ? !cJSON_IsArray(it) : !cJSON_IsObject(it))
        return -1;
    free(*printed); /* a field given twice: the last one counts */
    *printed = cJSON_PrintUnformatted(it);
    return *printed ? 0 : -1;
}

/* 1 when a JSON string in p holds the escape \u0000: cJSON would end the C string there and
 * keep only what comes before it ("ab\u0000cd" stored as "ab"). */
static int nul_escape(const char *p, size_t n)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            in_string = !in_string;
        } else if (in_string && p[i] == '\\' && i + 1 < n) {
            if (p[i + 1] == 'u' && n - i >= 6 && !memcmp(p + i + 2, "0000", 4))
                return 1;
            i++; /* the escaped character, whatever it is */
        }
    }
    return 0;
}

/* create: a new key (an expiry must then lie ahead). */
static int parse_body(const char *body, size_t len, int rotate, int create, struct gw_key_spec *sp,
                      struct body *b, struct gw_buf *out, int *status)
{
    memset(sp, 0, sizeof *sp);
    memset(b, 0, sizeof *b);
    if (len > GW_ADMIN_BODY_MAX) {
        fail(out, status, 413, "body_too_large", NULL, "request body is larger than 64 KiB");
        return 1;
    }
    if (!body || !len)
        return 0;
    if (nul_escape(body, len)) {
        fail(out, status, 400, "invalid_value", NULL, "text may not contain \\u0000");
        return 1;
    }
    const char *end = NULL;
    b->root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    /* cJSON stops after the first value: anything but white space after it is refused, not
     * dropped (as the inference endpoints do) */
    size_t at = b->root && end >= body && end <= body + len ? (size_t)(end - body) : len;
    while (at < len &&
           (body[at] == ' ' || body[at] == '\t' || body[at] == '\r' || body[at] == '\n'))
        at++;
    if (!cJSON_IsObject(b->root) || at < len) {
        fail(out, status, 400, "invalid_json", NULL, "the body must be one JSON object");
        return 1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, b->root)
    {
        const char *f = it->string;
        int64_t v;
        if (rotate) {
            if (strcmp(f, "grace_seconds"))
                return bad_field(out, status, f, "unknown field (rotate takes grace_seconds)");
            if (int_field(it, 0, GRACE_MAX, &b->grace_s))
                return bad_field(out, status, f, "must be 0 to 7776000 seconds");
        } else if (!strcmp(f, "name") || !strcmp(f, "owner")) {
            if (!cJSON_IsString(it))
                return bad_field(out, status, f, "must be a string");
            sp->set |= f[0] == 'n' ? GW_KEYF_NAME : GW_KEYF_OWNER;
            *(f[0] == 'n' ? &sp->name : &sp->owner) = it->valuestring;
        } else if (!strcmp(f, "models") || !strcmp(f, "providers")) {
            int m = f[0] == 'm';
            if (json_field(it, 1, m ? &b->models : &b->providers))
                return bad_field(out, status, f, "must be an array of strings, or null");
            sp->set |= m ? GW_KEYF_MODELS : GW_KEYF_PROVIDERS;
            *(m ? &sp->models_json : &sp->providers_json) = m ? b->models : b->providers;
        } else if (!strcmp(f, "metadata")) {
            if (json_field(it, 0, &b->metadata))
                return bad_field(out, status, f, "must be an object, or null");
            sp->set |= GW_KEYF_METADATA;
            sp->metadata_json = b->metadata;
        } else if (!strcmp(f, "rpm") || !strcmp(f, "tpm")) {
            if (int_field(it, -1, (int64_t)1 << 50, &v))
                return bad_field(out, status, f, "must be a non-negative integer, or null");
            sp->set |= f[0] == 'r' ? GW_KEYF_RPM : GW_KEYF_TPM;
            *(f[0] == 'r' ? &sp->rpm : &sp->tpm) = v;
        } else if (!strcmp(f, "budget_usd")) {
            if (!cJSON_IsNull(it) && (!cJSON_IsNumber(it) || !(it->valuedouble >= 0)))
                return bad_field(out, status, f, "must be a non-negative number, or null");
            sp->set |= GW_KEYF_BUDGET;
            sp->budget_usd = cJSON_IsNull(it) ? -1 : it->valuedouble;
        } else if (!strcmp(f, "budget_period")) {
            if (!cJSON_IsString(it) || gw_budget_period_parse(it->valuestring, &sp->budget_period))
                return bad_field(out, status, f, "must be none, daily, weekly or monthly");
            sp->set |= GW_KEYF_PERIOD;
        } else if (!strcmp(f, "expires_at")) {
            if (int_field(it, 0, (int64_t)1 << 40, &v))
                return bad_field(out, status, f, "must be unix seconds, or null");
            if (create && !cJSON_IsNull(it) && v <= (int64_t)time(NULL))
                return bad_field(out, status, f, "is in the past: the key could never be used");
            sp->set |= GW_KEYF_EXPIRES;
            sp->expires_at = v;
        } else {
            return bad_field(out, status, f, "unknown field");
        }
    }
    return 0;
}

static int answer_key(struct gw_buf *out, int *status, int st, struct gw_key *k, const char *token)
{
    cJSON *o = key_json(k, token);
    gw_key_unref(k);
    return emit(out, status, st, o);
}

/* The value of name in a query string, copied into v (size); 0 when absent. */
static int query_arg(const char *q, const char *name, char *v, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, name, n) && p[n] == '=') {
            const char *e = strchr(p + n + 1, '&');
            size_t len = e ? (size_t)(e - p - n - 1) : strlen(p + n + 1);
            if (len >= size)
                return -1;
            memcpy(v, p + n + 1, len);
            v[len] = '\0';
            return 1;
        }
    }
    return 0;
}

static int do_list(struct gw_store *s, const char *query, struct gw_buf *out, int *status)
{
    char after[64] = "", lim[16] = "";
    int limit = 100;
    if (query_arg(query, "after", after, sizeof after) < 0)
        return fail(out, status, 400, "invalid_value", "after", "after: not a key id");
    if (query_arg(query, "limit", lim, sizeof lim) != 0) {
        char *end = NULL;
        long l = strtol(lim, &end, 10);
        if (!lim[0] || *end || l < 1 || l > 1000)
            return fail(out, status, 400, "invalid_value", "limit", "limit: 1 to 1000");
        limit = (int)l;
    }
    struct gw_key_list l;
    int rc = gw_store_key_list(s, after, limit, &l);
    if (rc)
        return store_fail(out, status, rc, NULL);
    cJSON *doc = cJSON_CreateObject(), *data = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "object", "list");
    cJSON_AddItemToObject(doc, "data", data);
    /* A page ends where the answer would outgrow its buffer: 1,000 keys with 16 KiB of
     * metadata each are more than the 16 MiB an admin answer may hold, and the whole list
     * was a 500. The rest is on the next page (has_more, after=last_id). */
    size_t cap = out->cap ? out->cap : GW_BUF_DEFAULT_CAP, room = cap - cap / 16, used = 0;
    size_t n = 0;
    for (; n < l.n; n++) {
        cJSON *k = key_json(l.keys[n], NULL);
        char *printed = k ? cJSON_PrintUnformatted(k) : NULL;
        size_t len = printed ? strlen(printed) + 1 : 0;
        free(printed);
        if (n > 0 && used + len > room) {
            cJSON_Delete(k);
            break;
        }
        used += len;
        cJSON_AddItemToArray(data, k);
    }
    cJSON_AddItemToObject(doc, "first_id",
                          n ? cJSON_CreateString(l.keys[0]->id) : cJSON_CreateNull());
    cJSON_AddItemToObject(doc, "last_id",
                          n ? cJSON_CreateString(l.keys[n - 1]->id) : cJSON_CreateNull());
    cJSON_AddBoolToObject(doc, "has_more", n < l.n || l.next_cursor[0] != 0);
    gw_key_list_free(&l);
    return emit(out, status, 200, doc);
}

int gw_admin_keys_handle(struct gw_store *s, const char *method, const char *path, const char *body,
                         size_t len, struct gw_buf *out, int *status)
{
    char id[64] = "", rest[32] = "";
    if (!path)
        path = "";
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    if (plen && path[0] != '/')
        return fail(out, status, 404, "not_found", NULL, "no such admin route");
    /* "/{id}" or "/{id}/rotate"; ids are [A-Za-z0-9] */
    if (plen > 1) {
        size_t i = 1, n = 0;
        while (i < plen && path[i] != '/' && n + 1 < sizeof id)
            id[n++] = path[i++];
        if (i < plen && path[i] != '/')
            return fail(out, status, 404, "key_not_found", NULL, "no such key");
        if (i < plen && plen - i - 1 < sizeof rest) {
            memcpy(rest, path + i + 1, plen - i - 1);
            rest[plen - i - 1] = '\0';
        } else if (i < plen) {
            return fail(out, status, 404, "not_found", NULL, "no such admin route");
        }
    }
    int rotate = !strcmp(rest, "rotate");
    if (rest[0] && !rotate)
        return fail(out, status, 404, "not_found", NULL, "no such admin route");
    if (!id[0] && !strcmp(method, "GET"))
        return do_list(s, q ? q + 1 : "", out, status);
    if (!id[0] && strcmp(method, "POST"))
        return fail(out, status, 405, "method_not_allowed", NULL, "use GET or POST");
    if (id[0] && !rotate && strcmp(method, "GET") && strcmp(method, "PATCH") &&
        strcmp(method, "DELETE"))
        return fail(out, status, 405, "method_not_allowed", NULL, "use GET, PATCH or DELETE");
    if (rotate && strcmp(method, "POST"))
        return fail(out, status, 405, "method_not_allowed", NULL, "use POST");

    struct gw_key *k = NULL;
    int rc;
    if (!strcmp(method, "GET")) {
        rc = gw_store_key_get(s, id, &k);
        return rc ? store_fail(out, status, rc, NULL) : answer_key(out, status, 200, k, NULL);
    }
    if (!strcmp(method, "DELETE")) {
        rc = gw_store_key_revoke(s, id, &k);
        return rc ? store_fail(out, status, rc, NULL) : answer_key(out, status, 200, k, NULL);
    }
    struct gw_key_spec spec;
    struct body b;
    if (parse_body(body, len, rotate, !id[0], &spec, &b, out, status)) {
        body_free(&b);
        return out->len ? 0 : AIGW_ENOMEM;
    }
    if (id[0] && !rotate && !spec.set) {
        body_free(&b);
        return fail(out, status, 400, "invalid_value", NULL, "nothing to change: no field given");
    }
    char token[GW_KEY_TOKEN_SIZE] = "", err[256] = "";
    if (rotate)
        rc = gw_store_key_rotate(s, id, b.grace_s, token, &k, err, sizeof err);
    else if (!id[0])
        rc = gw_store_key_create(s, &spec, token, &k, err, sizeof err);
    else
        rc = gw_store_key_update(s, id, &spec, &k, err, sizeof err);
    body_free(&b);
    if (rc) {
        gw_key_unref(k);
        return store_fail(out, status, rc, err);
    }
    rc = answer_key(out, status, !id[0] ? 201 : 200, k, token[0] ? token : NULL);
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

int gw_admin_key_usage(struct gw_store *s, const char *id, struct gw_buf *out, int *status)
{
    struct gw_key *k = NULL;
    int rc = gw_store_key_get(s, id, &k);
    if (rc)
        return store_fail(out, status, rc, NULL);
    /* The caller's own limits and spend; not its metadata (the operator's notes) nor anything
     * about other keys. */
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "object", "gateway.key.usage");
        cJSON_AddStringToObject(o, "key_id", k->id);
        cJSON_AddStringToObject(o, "name", k->name);
        cJSON_AddItemToObject(o, "models", list_json(k->models, k->n_models));
        cJSON_AddItemToObject(o, "providers", list_json(k->providers, k->n_providers));
        cJSON_AddItemToObject(o, "rpm", num_or_null(k->rpm, 0));
        cJSON_AddItemToObject(o, "tpm", num_or_null(k->tpm, 0));
        cJSON_AddItemToObject(o, "budget_usd",
                              k->budget_usd < 0 ? cJSON_CreateNull()
                                                : cJSON_CreateNumber(k->budget_usd));
        cJSON_AddStringToObject(o, "budget_period", gw_budget_period_str(k->budget_period));
        cJSON_AddNumberToObject(o, "spend_usd", k->spend_usd);
        double left = k->budget_usd - k->spend_usd;
        cJSON_AddItemToObject(o, "remaining_usd",
                              k->budget_usd < 0 ? cJSON_CreateNull()
                                                : cJSON_CreateNumber(left > 0 ? left : 0));
        cJSON_AddItemToObject(o, "period_start", num_or_null(k->period_start, 1));
        cJSON_AddItemToObject(o, "budget_reset_at", num_or_null(k->period_reset, 1));
        cJSON_AddItemToObject(o, "expires_at", num_or_null(k->expires_at, 1));
        cJSON_AddItemToObject(o, "last_used_at", num_or_null(k->last_used_at, 1));
    }
    gw_key_unref(k);
    return emit(out, status, 200, o);
}
