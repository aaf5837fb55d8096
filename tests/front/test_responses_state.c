/* Responses state against an in-memory store: chains, owners, expiry, pagination, delete. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <criterion/criterion.h>

#include "front/body.h"
#include "lib/utf8.h"
#include "resp_util.h"
#include "store/store.h"

static struct gw_store *st;

static void setup(void)
{
    char err[256];
    st = gw_store_open("memory:", NULL, err, sizeof err);
    cr_assert_not_null(st, "%s", err);
    gw_responses_use_store(st); /* what parse reads chains from and renders keep into */
}

static void teardown(void)
{
    gw_responses_use_store(NULL);
    gw_store_close(st);
}

static const char *bearer(void *ud, const char *name)
{
    static char v[128];
    if (strcasecmp(name, "Authorization"))
        return NULL;
    snprintf(v, sizeof v, "Bearer %s", (const char *)ud);
    return v;
}

/* The owner id a request presenting key gets. */
static const char *owner(const char *key)
{
    static char out[4][GW_RESP_ID_MAX];
    static int n;
    char *o = out[n++ % 4];
    gw_resp_owner(NULL, bearer, (void *)key, o);
    return o;
}

static void put(const char *id, const char *key, const char *prev, const char *in, const char *out,
                int64_t expires)
{
    struct gw_stored_response r;
    memset(&r, 0, sizeof r);
    gw_strlcpy(r.id, id, sizeof r.id);
    gw_strlcpy(r.key_id, owner(key), sizeof r.key_id);
    gw_strlcpy(r.previous_id, prev, sizeof r.previous_id);
    r.created_at = 1;
    r.expires_at = expires;
    r.response_json = (char *)out;
    r.input_items_json = (char *)in;
    cr_assert_eq(gw_store_response_put(st, &r), 0);
}

#define MSG(role, t) "{\"type\":\"message\",\"role\":\"" role "\",\"content\":\"" t "\"}"

static int resolve(const char *body, const char *key, struct gw_parsed *p, struct gw_front_err *err)
{
    struct gw_inbound in = {.body = body,
                            .len = strlen(body),
                            .path = "/v1/responses",
                            .header = bearer,
                            .header_ud = (void *)key};
    memset(p, 0, sizeof *p);
    return gw_responses_parse(&in, p, err);
}

Test(responses_state, chain_is_walked_to_the_root_oldest_first, .init = setup, .fini = teardown)
{
    put("resp_a", "k1", "", "[" MSG("user", "one") "]",
        "{\"output\":[" MSG("assistant", "ONE") "]}", 0);
    put("resp_b", "k1", "resp_a", "[" MSG("user", "two") "]",
        "{\"output\":[{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\","
        "\"arguments\":\"{}\"}]}",
        0);
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body = "{\"model\":\"m\",\"instructions\":\"new rules\",\"previous_response_id\":"
                       "\"resp_b\",\"input\":[{\"type\":\"function_call_output\",\"call_id\":"
                       "\"c1\",\"output\":\"42\"}]}";
    cr_assert_eq(resolve(body, "k1", &p, &err), 0, "%s", err.message);
    cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 6);
    static const char *const roles[] = {"system", "user", "assistant", "user", "assistant", "tool"};
    for (int i = 0; i < 6; i++)
        cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, i), "role")->valuestring,
                         roles[i]);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring,
                     "new rules");
    ru_parsed_free(&p);
}

Test(responses_state, another_key_or_expired_or_broken_chain_is_not_found, .init = setup,
     .fini = teardown)
{
    put("resp_a", "k1", "", "[" MSG("user", "one") "]", "{\"output\":[]}", 0);
    put("resp_old", "k1", "", "[]", "{\"output\":[]}", (int64_t)time(NULL) - 1);
    put("resp_orphan", "k1", "resp_gone", "[]", "{\"output\":[]}", 0);
    static const char *const cases[][2] = {
        {"resp_a", "k2"}, {"resp_old", "k1"}, {"resp_orphan", "k1"}, {"resp_zzz", "k1"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_parsed p;
        struct gw_front_err err;
        char body[256];
        snprintf(body, sizeof body,
                 "{\"model\":\"m\",\"previous_response_id\":\"%s\",\"input\":\"x\"}", cases[i][0]);
        cr_assert_eq(resolve(body, cases[i][1], &p, &err), AIGW_EINVAL, "%s", cases[i][0]);
        cr_assert_str_eq(err.code, "previous_response_not_found");
        cr_assert_eq(err.status, 400);
        ru_parsed_free(&p);
    }
}

static const char *arg_of(void *ud, const char *name)
{
    const char *const *kv = ud;
    for (; kv[0]; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

Test(responses_state, input_items_pages_and_routes_answer_per_owner, .init = setup,
     .fini = teardown)
{
    put("resp_a", "k1", "",
        "[{\"id\":\"i1\",\"type\":\"message\"},{\"id\":\"i2\",\"type\":\"message\"},"
        "{\"id\":\"i3\",\"type\":\"message\"}]",
        "{\"id\":\"resp_a\",\"output\":[]}", 0);
    struct gw_buf out;
    gw_buf_init(&out, 0);
    int status = 0;
    const char *q1[] = {"limit", "2", NULL};
    cr_assert_eq(
        gw_responses_input_items_list(st, owner("k1"), "resp_a", arg_of, q1, &out, &status), 0);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(out.ptr, "{\"object\":\"list\",\"data\":[{\"id\":\"i3\",\"type\":\"message\"},"
                              "{\"id\":\"i2\",\"type\":\"message\"}],\"first_id\":\"i3\","
                              "\"last_id\":\"i2\",\"has_more\":true}");
    gw_buf_reset(&out);
    const char *q2[] = {"order", "asc", "after", "i1", NULL};
    gw_responses_input_items_list(st, owner("k1"), "resp_a", arg_of, q2, &out, &status);
    cr_assert(strstr(out.ptr, "\"first_id\":\"i2\",\"last_id\":\"i3\",\"has_more\":false"), "%s",
              out.ptr);
    gw_buf_reset(&out);
    const char *q3[] = {"limit", "101", NULL};
    gw_responses_input_items_list(st, owner("k1"), "resp_a", arg_of, q3, &out, &status);
    cr_assert_eq(status, 400);
    gw_buf_reset(&out);
    gw_responses_get(st, owner("k2"), "resp_a", &out, &status);
    cr_assert_eq(status, 404);
    gw_buf_reset(&out);
    gw_responses_delete(st, owner("k2"), "resp_a", &out, &status);
    cr_assert_eq(status, 404, "another key cannot delete it");
    gw_buf_reset(&out);
    gw_responses_get(st, owner("k1"), "resp_a", &out, &status);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(out.ptr, "{\"id\":\"resp_a\",\"output\":[]}");
    gw_buf_reset(&out);
    gw_responses_delete(st, owner("k1"), "resp_a", &out, &status);
    cr_assert_eq(status, 200);
    cr_assert_str_eq(out.ptr, "{\"id\":\"resp_a\",\"object\":\"response\",\"deleted\":true}");
    gw_buf_reset(&out);
    gw_responses_get(st, owner("k1"), "resp_a", &out, &status);
    cr_assert_eq(status, 404);
    gw_buf_free(&out);
}

Test(responses_state, a_finished_response_is_kept_only_when_asked, .init = setup, .fini = teardown)
{
    for (int store = 0; store < 2; store++) {
        struct gw_parsed p;
        struct gw_front_err err;
        const char *body = store ? "{\"model\":\"m\",\"input\":\"hi\",\"temperature\":0.7,"
                                   "\"max_output_tokens\":64,\"metadata\":{\"k\":\"a\\nb\\u0001\"}}"
                                 : "{\"model\":\"m\",\"input\":\"hi\",\"store\":false}";
        cr_assert_eq(resolve(body, "k1", &p, &err), 0);
        void *r = gw_responses_render_new(&p, "m", "rid");
        struct gw_buf out;
        gw_buf_init(&out, 0);
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        c.text = aigw_bytes_of("hello");
        gw_responses_render_chunk(r, &c, &out);
        cr_assert_eq(gw_responses_render_end(r, &out), 0);
        struct gw_stored_response row;
        int g = gw_store_response_get(st, ((struct gw_resp_ctx *)p.ctx)->id, owner("k1"), &row);
        if (store) {
            cr_assert_eq(g, 0);
            cr_assert_str_eq(row.response_json, out.ptr, "kept as answered");
            cr_assert(strstr(row.input_items_json, "\"hi\""));
            /* No request is kept beside it: the response object repeats the parameters,
             * the client's where it sent them and the defaults elsewhere. The items as
             * cJSON prints them. */
            cr_assert(strstr(row.response_json,
                             "\"temperature\":0.7,\"text\":{\"format\":{\"type\":\"text\"}"));
            cr_assert(strstr(row.response_json, "\"metadata\":{\"k\":\"a\\nb\\u0001\"}"));
            const struct gw_resp_ctx *ctx = p.ctx;
            char *items = cJSON_PrintUnformatted(ctx->input_items);
            cr_assert_str_eq(row.input_items_json, items);
            free(items);
            cr_assert(row.expires_at > row.created_at);
            gw_stored_response_free(&row);
        } else {
            cr_assert_eq(g, GW_STORE_ENOTFOUND);
        }
        gw_buf_free(&out);
        gw_responses_render_free(r);
        ru_parsed_free(&p);
    }
}

Test(responses_state, owner_is_a_hash_of_the_presented_key)
{
    char a[GW_RESP_ID_MAX], b[GW_RESP_ID_MAX];
    const char *h1[] = {"Authorization", "Bearer sk-secret-1", NULL};
    const char *h2[] = {"x-api-key", "sk-secret-1", NULL};
    gw_resp_owner(NULL, arg_of, h1, a);
    gw_resp_owner(NULL, arg_of, h2, b);
    cr_assert_str_eq(a, b, "the same key either way");
    cr_assert(!strstr(a, "secret"), "never the key itself");
    cr_assert(!strncmp(a, "key_", 4));
    const char *none[] = {NULL};
    gw_resp_owner(NULL, arg_of, none, a);
    cr_assert_str_eq(a, "");
}

Test(responses_state, owner_is_the_gateway_key_id_when_one_was_presented)
{
    char a[GW_RESP_ID_MAX], b[GW_RESP_ID_MAX];
    const char *h1[] = {"Authorization", "Bearer aigw_AAAAAAAAAAAA_secret1", NULL};
    const char *h2[] = {"Authorization", "Bearer aigw_AAAAAAAAAAAA_rotated2", NULL};
    gw_resp_owner("AAAAAAAAAAAA", arg_of, h1, a);
    gw_resp_owner("AAAAAAAAAAAA", arg_of, h2, b);
    cr_assert_str_eq(a, "AAAAAAAAAAAA", "the key's public id owns it");
    cr_assert_str_eq(a, b, "a rotated secret still owns what the key stored");
}

/* An id an error quotes back comes from the path (any bytes) or the body: the error is still
 * UTF-8, as JSON must be, whatever it held, and however a long one is cut. */
Test(responses_state, an_id_quoted_in_an_error_is_valid_utf8, .init = setup, .fini = teardown)
{
    static const char *const ids[] = {"\xff\xfe", "resp_\xc3", "resp_\xe2\x82", "\xc0\xaf"};
    struct gw_buf out;
    gw_buf_init(&out, 0);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        for (int route = 0; route < 3; route++) {
            int status = 0;
            gw_buf_reset(&out);
            int rc = route == 0   ? gw_responses_get(st, owner("k1"), ids[i], &out, &status)
                     : route == 1 ? gw_responses_delete(st, owner("k1"), ids[i], &out, &status)
                                  : gw_responses_input_items_list(st, owner("k1"), ids[i], NULL,
                                                                  NULL, &out, &status);
            cr_assert_eq(rc, 0);
            cr_assert_eq(status, 404);
            cr_assert_eq(gw_utf8_invalid_at(out.ptr, out.len), (size_t)-1, "id %zu route %d: %s", i,
                         route, out.ptr);
            cJSON *j = cJSON_Parse(out.ptr);
            cr_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "error")), "%s", out.ptr);
            cJSON_Delete(j);
        }
    }
    gw_buf_free(&out);
    /* a previous_response_id too long to be one, of two-byte characters: cut at a boundary */
    char body[512];
    for (int odd = 0; odd < 2; odd++) {
        size_t n = (size_t)snprintf(
            body, sizeof body, "{\"model\":\"m\",\"input\":\"x\",\"previous_response_id\":\"%s",
            odd ? "a" : "");
        for (int k = 0; k < 50; k++)
            n += (size_t)snprintf(body + n, sizeof body - n, "\xc3\xa9");
        snprintf(body + n, sizeof body - n, "\"}");
        struct gw_parsed p;
        struct gw_front_err err;
        cr_assert_eq(resolve(body, "k1", &p, &err), AIGW_EINVAL);
        cr_assert_str_eq(err.code, "previous_response_not_found");
        cr_assert_eq(gw_utf8_invalid_at(err.message, strlen(err.message)), (size_t)-1, "%s",
                     err.message);
        ru_parsed_free(&p);
    }
}

/* "[{...,"n":[0,0,...]}]": one input item carrying `values` small values. */
static char *heavy_items(int values)
{
    static const char head[] = "[{\"type\":\"message\",\"role\":\"user\",\"content\":\"x\",\"n\":[";
    size_t n = sizeof head - 1 + 2 * (size_t)values + 8;
    char *s = malloc(n);
    cr_assert_not_null(s);
    memcpy(s, head, sizeof head - 1);
    size_t at = sizeof head - 1;
    for (int i = 0; i < values; i++) {
        s[at++] = '0';
        s[at++] = ',';
    }
    at--; /* the last comma */
    memcpy(s + at, "]}]", 4);
    return s;
}

/* "[{"type":"message","role":"user","content":"xxx..."}]" of about `bytes` bytes. */
static char *big_items(size_t bytes)
{
    static const char head[] = "[{\"type\":\"message\",\"role\":\"user\",\"content\":\"";
    char *s = malloc(bytes + sizeof head + 8);
    cr_assert_not_null(s);
    memcpy(s, head, sizeof head - 1);
    memset(s + sizeof head - 1, 'x', bytes);
    memcpy(s + sizeof head - 1 + bytes, "\"}]", 4);
    return s;
}

static void chain_of(const char *prefix, int n, const char *in)
{
    char id[GW_RESP_ID_MAX], prev[GW_RESP_ID_MAX] = "";
    for (int i = 0; i < n; i++) {
        snprintf(id, sizeof id, "%s%d", prefix, i);
        put(id, "k1", prev, in, "{\"output\":[]}", 0);
        gw_strlcpy(prev, id, sizeof prev);
    }
}

static int chain_from(const char *id, struct gw_front_err *err)
{
    char body[256];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"previous_response_id\":\"%s\",\"input\":\"x\"}",
             id);
    struct gw_parsed p;
    int rc = resolve(body, "k1", &p, err);
    ru_parsed_free(&p);
    return rc;
}

/* A chain is read whole into memory to be sent upstream: its stored input is held to the
 * values a request body may carry, and the chain's stored bytes to a cap, so a long or heavy
 * conversation is a 400 that names previous_response_id, never the gateway's memory. */
Test(responses_state, a_chain_too_large_to_hold_is_refused, .init = setup, .fini = teardown)
{
    char *heavy = heavy_items(GW_BODY_MAX_VALUES / 3);
    chain_of("resp_v", 4, heavy);
    free(heavy);
    struct gw_front_err err;
    cr_assert_eq(chain_from("resp_v1", &err), 0, "two thirds of a body's values: %s", err.message);
    cr_assert_eq(chain_from("resp_v3", &err), AIGW_EINVAL, "four thirds of a body's values");
    cr_assert_eq(err.status, 400);
    cr_assert_str_eq(err.param, "previous_response_id");
    cr_assert(strstr(err.message, "too large"), "%s", err.message);

    char *big = big_items((size_t)15 << 20);
    chain_of("resp_b", 5, big);
    free(big);
    cr_assert_eq(chain_from("resp_b2", &err), 0, "45 MiB: %s", err.message);
    cr_assert_eq(chain_from("resp_b4", &err), AIGW_EINVAL, "75 MiB");
    cr_assert_str_eq(err.param, "previous_response_id");
    cr_assert(strstr(err.message, "too large"), "%s", err.message);
}

/* Item ids are unique, as OpenAI's are: clients key items by id (dedup, input_items' `after`
 * cursor), so a response's minted input ids must not repeat its output's. */
/* Answers body for key with "hello" and a call of f, keeping the response; its output. */
static cJSON *answered(const char *body, const char *key)
{
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(resolve(body, key, &p, &err), 0, "%s", err.message);
    void *r = gw_responses_render_new(&p, "m", "rid");
    struct gw_buf out;
    gw_buf_init(&out, 0);
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    c.text = aigw_bytes_of("hello");
    cr_assert_eq(gw_responses_render_chunk(r, &c, &out), 0);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    t.id = aigw_bytes_of("c9");
    t.name = aigw_bytes_of("f");
    t.text = aigw_bytes_of("{\"a\":1}");
    cr_assert_eq(gw_responses_render_chunk(r, &t, &out), 0);
    cr_assert_eq(gw_responses_render_end(r, &out), 0);
    cJSON *doc = cJSON_Parse(out.ptr);
    cr_assert_not_null(doc);
    /* the input items as stored, for their minted ids */
    cJSON_AddItemToObject(doc, "test_input",
                          cJSON_Duplicate(((struct gw_resp_ctx *)p.ctx)->input_items, 1));
    gw_buf_free(&out);
    gw_responses_render_free(r);
    ru_parsed_free(&p);
    return doc;
}

static const char *item_id(const cJSON *doc, const char *array, int i)
{
    return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, array), i), "id")
        ->valuestring;
}

Test(responses_state, input_and_output_items_never_share_an_id, .init = setup, .fini = teardown)
{
    cJSON *doc = answered("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"},"
                          "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\","
                          "\"arguments\":\"{}\"},{\"type\":\"function_call_output\",\"call_id\":"
                          "\"c1\",\"output\":\"1\"}],\"tools\":[{\"type\":\"function\",\"name\":"
                          "\"f\"}]}",
                          "k1");
    const cJSON *outputs = cJSON_GetObjectItem(doc, "output");
    cr_assert_geq(cJSON_GetArraySize(outputs), 2);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "test_input")), 3);
    const cJSON *in, *o;
    cJSON_ArrayForEach(in, cJSON_GetObjectItem(doc, "test_input"))
    {
        const char *iid = cJSON_GetObjectItem(in, "id")->valuestring;
        cJSON_ArrayForEach(o, outputs)
            cr_assert_str_neq(iid, cJSON_GetObjectItem(o, "id")->valuestring);
    }
    cJSON_Delete(doc);
}

/* An input item whose "id" is null (or not a string) gets a minted one in its place: one
 * "id" member, the one input_items' first_id and last_id name. */
Test(responses_state, an_input_item_with_a_null_id_gets_one_id, .init = setup, .fini = teardown)
{
    struct gw_parsed p;
    struct gw_front_err err;
    const char *body = "{\"model\":\"m\",\"input\":[{\"type\":\"message\",\"role\":\"user\","
                       "\"content\":\"hi\",\"id\":null},{\"role\":\"user\",\"content\":\"yo\","
                       "\"id\":7}]}";
    cr_assert_eq(resolve(body, "k1", &p, &err), 0, "%s", err.message);
    const struct gw_resp_ctx *ctx = p.ctx;
    const cJSON *it;
    cJSON_ArrayForEach(it, ctx->input_items)
    {
        int ids = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, it) ids += !strcmp(m->string, "id");
        cr_assert_eq(ids, 1, "one id member");
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(it, "id")));
    }
    ru_parsed_free(&p);
}

/* ---- item_reference --------------------------------------------------------------------- */

/* What the Vercel AI SDK sends with store on: earlier items by id. Output items and input
 * items minted here are read back whole, in the input's order, and become the messages. */
Test(responses_state, item_references_are_read_back_from_the_store, .init = setup, .fini = teardown)
{
    cJSON *first = answered("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"q1\"}],"
                            "\"tools\":[{\"type\":\"function\",\"name\":\"f\"}]}",
                            "k1");
    char body[1024];
    snprintf(body, sizeof body,
             "{\"model\":\"m\",\"tools\":[{\"type\":\"function\",\"name\":\"f\"}],\"input\":["
             "{\"type\":\"item_reference\",\"id\":\"%s\"},{\"type\":\"item_reference\",\"id\":"
             "\"%s\"},{\"type\":\"item_reference\",\"id\":\"%s\"},{\"type\":"
             "\"function_call_output\",\"call_id\":\"c9\",\"output\":\"2\"}]}",
             item_id(first, "test_input", 0), item_id(first, "output", 0),
             item_id(first, "output", 1));
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(resolve(body, "k1", &p, &err), 0, "%s", err.message);
    const struct gw_resp_ctx *ctx = p.ctx;
    for (int i = 0; i < 3; i++) {
        const cJSON *want = i == 0
                                ? cJSON_GetArrayItem(cJSON_GetObjectItem(first, "test_input"), 0)
                                : cJSON_GetArrayItem(cJSON_GetObjectItem(first, "output"), i - 1);
        cr_assert(cJSON_Compare(cJSON_GetArrayItem(ctx->input_items, i), want, 1), "item %d", i);
    }
    cJSON *msgs = cJSON_GetObjectItem(p.body, "messages");
    cr_assert_eq(cJSON_GetArraySize(msgs), 3, "user, assistant with its call, tool");
    cJSON *a = cJSON_GetArrayItem(msgs, 1);
    cr_assert_str_eq(cJSON_GetObjectItem(a, "content")->valuestring, "hello");
    cr_assert_str_eq(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(a, "tool_calls"), 0), "id")
            ->valuestring,
        "c9");
    /* A target that speaks Responses would get the items, not the references. */
    char *native = cJSON_PrintUnformatted(p.native);
    cr_assert_null(strstr(native, "item_reference"), "%s", native);
    free(native);
    ru_parsed_free(&p);
    cJSON_Delete(first);
}

/* Another key's item, an expired, deleted or unknown one, and ids not minted here are a 404
 * naming the id, as OpenAI answers; an item_reference without an id is a 400. */
Test(responses_state, an_item_reference_not_found_is_a_404, .init = setup, .fini = teardown)
{
    cJSON *first = answered("{\"model\":\"m\",\"input\":\"q1\"}", "k1");
    char other[GW_RESP_ID_MAX], deleted[GW_RESP_ID_MAX];
    gw_strlcpy(other, item_id(first, "output", 0), sizeof other);
    cJSON *gone = answered("{\"model\":\"m\",\"input\":\"q2\"}", "k1");
    gw_strlcpy(deleted, item_id(gone, "output", 0), sizeof deleted);
    cr_assert_eq(
        gw_store_response_delete(st, cJSON_GetObjectItem(gone, "id")->valuestring, owner("k1")), 0);
    char unknown[GW_RESP_ID_MAX];
    snprintf(unknown, sizeof unknown, "%s", other);
    unknown[10] = unknown[10] == '0' ? '1' : '0'; /* same shape, another response */
    const char *cases[][2] = {
        {other, "k2"}, {deleted, "k1"}, {unknown, "k1"}, {"msg_abc", "k1"}, {"rs_0123", "k1"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"x\"},{\"type\":"
                 "\"item_reference\",\"id\":\"%s\"}]}",
                 cases[i][0]);
        struct gw_parsed p;
        struct gw_front_err err;
        cr_assert_eq(resolve(body, cases[i][1], &p, &err), AIGW_EINVAL, "%s", cases[i][0]);
        cr_assert_eq(err.status, 404, "%s", cases[i][0]);
        cr_assert_str_eq(err.param, "input");
        cr_assert(strstr(err.message, cases[i][0]), "%s", err.message);
        ru_parsed_free(&p);
    }
    struct gw_parsed p;
    struct gw_front_err err;
    cr_assert_eq(
        resolve("{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\"}]}", "k1", &p, &err),
        AIGW_EINVAL);
    cr_assert_eq(err.status, 400, "%s", err.message);
    ru_parsed_free(&p);
    cJSON_Delete(first);
    cJSON_Delete(gone);
}

/* A request whose items were read back is kept with the items themselves: a chain through it
 * needs no reference resolved again. */
Test(responses_state, a_response_with_references_is_kept_with_the_items, .init = setup,
     .fini = teardown)
{
    cJSON *first = answered("{\"model\":\"m\",\"input\":\"q1\"}", "k1");
    char body[512];
    snprintf(body, sizeof body,
             "{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\",\"id\":\"%s\"},"
             "{\"role\":\"user\",\"content\":\"q2\"}]}",
             item_id(first, "output", 0));
    cJSON *second = answered(body, "k1");
    struct gw_stored_response row;
    cr_assert_eq(gw_store_response_get(st, cJSON_GetObjectItem(second, "id")->valuestring,
                                       owner("k1"), &row),
                 0);
    cr_assert_null(strstr(row.input_items_json, "item_reference"), "%s", row.input_items_json);
    cr_assert(strstr(row.input_items_json, "hello"), "%s", row.input_items_json);
    gw_stored_response_free(&row);
    cJSON_Delete(first);
    cJSON_Delete(second);
}
