/*
 * libFuzzer target for the Responses dialect: the first byte picks the job.
 *   even: the bytes after it are a POST /v1/responses body for parse (then, when it parses,
 *         a short answer is rendered both ways against its tool map); with bit 1 set, a
 *         POST /v1/responses/compact body (compaction items and triggers are read either way);
 *         with bit 2 set (and bit 1 clear), a POST /v1/responses/input_tokens body, whose
 *         count is rendered from usage and from the estimate;
 *   odd:  the bytes after it are a program of chunks (text, reasoning, refusal, signature,
 *         tool-call pieces of several indexes, finish, usage, errors) rendered against a
 *         request with function, custom and namespace tools, stream and document.
 * Any input must give a result or a clean error, never a crash or a leak; every refusal
 * explains itself; a rendered document is JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/dialect.h"
#include "front/responses.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char tools_req[] =
    "{\"model\":\"m\",\"input\":\"x\",\"include\":[\"reasoning.encrypted_content\"],"
    "\"tools\":[{\"type\":\"function\",\"name\":\"f\"},{\"type\":\"custom\",\"name\":"
    "\"apply_patch\"},{\"type\":\"namespace\",\"name\":\"ns\",\"tools\":[{\"type\":"
    "\"function\",\"name\":\"g\"}]}]}";

static const char *no_header(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return NULL;
}

/* compact < 0: the input_tokens endpoint's parse. */
static int parse(const char *p, size_t n, struct gw_parsed *out, int compact)
{
    struct gw_inbound in = {.body = p, .len = n, .path = "/v1/responses", .header = no_header};
    struct gw_front_err err;
    memset(out, 0, sizeof *out);
    int rc = compact < 0 ? gw_responses_parse_count(&in, out, &err)
                         : gw_responses_parse_as(&in, out, &err, compact);
    /* 404: an item_reference to an item that is not stored */
    if (rc && ((err.status != 400 && err.status != 404) || !err.message[0]) && rc != AIGW_ENOMEM)
        abort();
    if (out->ctx)
        ((struct gw_resp_ctx *)out->ctx)->st = NULL; /* keep nothing between inputs */
    return rc;
}

static void run(const struct gw_parsed *p, int stream, const uint8_t *prog, size_t n)
{
    struct gw_parsed q = *p;
    q.stream = stream;
    void *r = gw_responses_render_new(&q, "m", "rid");
    if (!r)
        abort();
    struct gw_buf out;
    gw_buf_init(&out, 1u << 22);
    static const char *const names[] = {"f", "apply_patch", "ns__g", "unknown"};
    struct aigw_usage u;
    aigw_usage_init(&u);
    int failed = 0;
    for (size_t i = 0; i + 1 < n && !failed; i += 2) {
        uint8_t op = prog[i], arg = prog[i + 1];
        size_t len = arg % 8;
        const char *text = (const char *)prog + i;
        if (len > n - i)
            len = n - i;
        struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, (op & 0x80) ? 1 : 0);
        switch (op % 10) {
        case 0:
            c.type = AIGW_CHUNK_TEXT;
            break;
        case 1:
            c.type = AIGW_CHUNK_REASONING;
            break;
        case 2:
            c.type = AIGW_CHUNK_REFUSAL;
            break;
        case 3:
            c.type = AIGW_CHUNK_REASONING_SIGNATURE;
            break;
        case 4:
        case 5:
            c.type = AIGW_CHUNK_TOOL_CALL;
            c.tool_index = arg % 4;
            if (op % 10 == 4) {
                c.id = aigw_bytes_of((arg & 16) ? "call_x" : NULL);
                c.name = aigw_bytes_of(names[(arg >> 2) % 4]);
            }
            break;
        case 6:
            c.type = AIGW_CHUNK_FINISH;
            c.finish = arg % 6;
            break;
        case 7:
            c.type = AIGW_CHUNK_USAGE;
            u.prompt_tokens = arg;
            u.completion_tokens = op;
            c.usage = &u;
            break;
        case 8:
            c.type = AIGW_CHUNK_META;
            c.name = aigw_bytes_of("m2");
            break;
        default:
            c.type = AIGW_CHUNK_REASONING_REDACTED;
            break;
        }
        c.text.ptr = text;
        c.text.len = len;
        if (gw_responses_render_chunk(r, &c, &out) < 0)
            failed = 1;
    }
    if (n % 3 == 1 && stream) {
        struct aigw_error e;
        aigw_error_init(&e);
        e.message = "boom";
        gw_responses_render_stream_error(r, &e, &out);
    } else if (gw_responses_render_end(r, &out) == 0 && !stream && !failed) {
        cJSON *j = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
        if (!j)
            abort(); /* the document is always JSON */
        cJSON_Delete(j);
    }
    gw_buf_free(&out);
    gw_responses_render_free(r);
}

/* A parsed count answered with and without a usage report: {"object":..,"input_tokens":N}. */
static void run_count(const struct gw_parsed *p, int reported)
{
    const struct gw_dialect *d = &gw_responses_input_tokens_dialect;
    if (p->op != AIGW_OP_COUNT_TOKENS || p->stream)
        abort();
    void *r = d->render_new(p, "m", "rid");
    if (!r)
        abort();
    struct gw_buf out;
    gw_buf_init(&out, 1u << 16);
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 4321;
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    c.usage = &u;
    if ((reported && d->render_chunk(r, &c, &out)) || d->render_end(r, &out))
        abort();
    cJSON *j = cJSON_ParseWithLength(out.ptr ? out.ptr : "", out.len);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "input_tokens");
    if (!cJSON_IsNumber(n) || n->valuedouble < 1 || (reported && n->valuedouble != 4321))
        abort(); /* a count is a positive number, the upstream's when it gave one */
    cJSON_Delete(j);
    gw_buf_free(&out);
    d->render_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct gw_parsed p;
    if ((data[0] & 7) == 4) {
        if (parse((const char *)data + 1, size - 1, &p, -1) == 0) {
            run_count(&p, 0);
            run_count(&p, 1);
        }
        gw_parsed_free(&p);
        return 0;
    }
    if (!(data[0] & 1)) {
        int compact = (data[0] & 2) ? GW_RESP_COMPACT_ENDPOINT : GW_RESP_COMPACT_NONE;
        if (parse((const char *)data + 1, size - 1, &p, compact) == 0) {
            static const uint8_t answer[] = {0, 3, 4, 0x10, 5, 2, 6, 0};
            run(&p, 0, answer, sizeof answer);
            run(&p, 1, answer, sizeof answer);
        }
        gw_parsed_free(&p);
        return 0;
    }
    if (parse(tools_req, sizeof tools_req - 1, &p, GW_RESP_COMPACT_NONE) != 0)
        abort();
    run(&p, data[0] & 2, data + 1, size - 1);
    gw_parsed_free(&p);
    return 0;
}
