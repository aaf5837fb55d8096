/* emitter - one provider source built three ways (tests/loader/local.mk): against the 1.1
 * header kept in tests/loader/abi-1.1 (a plugin nobody rebuilt), against this header with
 * AIGW_TARGET_MINOR=1 (a plugin that wants to load on 1.1 hosts too), and against this header
 * with AIGW_TARGET_MINOR=2 (a 1.2 plugin: prefixed usage and errors). Each must hand the host the same usage and errors; test_loader checks that it reads
 * them alike. build_request also reports what host->env answered, in request headers.
 *
 * The upstream "protocol": a 2xx body "ok" gets text, usage and a finish; "inband" gets an
 * ERROR chunk; a 429 is mapped by hand, any other failure through host->oai_map_error. */
#include <string.h>

#include "module.h"

#ifndef EMITTER_VKEY
#error "EMITTER_VKEY must name the module's vkey"
#endif

static const struct aigw_env_var env[] = {
    {"LOADER_EMIT_KEY", 0, "emit-default", "this module's own variable"},
    {NULL, 0, NULL, NULL},
};

static int report_env(struct aigw_call *call, const char *header, const char *name)
{
    const char *v = call->host->env(name);
    return call->host->add_header(call, header, v ? v : "(null)", 0);
}

static int build(struct aigw_call *call)
{
    int rc = call->host->set_url(call, "http://loader.test/emit");
    if (rc == 0)
        rc = report_env(call, "X-Own", "LOADER_EMIT_KEY");
    if (rc == 0)
        rc = report_env(call, "X-Other", "LOADER_GOOD_KEY");
    if (rc == 0)
        rc = report_env(call, "X-Other-Default", "LOADER_GOOD_MODE");
    if (rc == 0)
        rc = report_env(call, "X-Process", "LOADER_EMIT_PROCESS");
    return rc;
}

static int parse(struct aigw_call *call, struct aigw_bytes body)
{
    if (body.len == 6 && memcmp(body.ptr, "inband", 6) == 0) {
        struct aigw_error e;
        aigw_error_init(&e);
        e.status = 503;
        e.type = "server_error";
        e.code = "overloaded";
        e.param = "model";
        e.message = "busy right now";
        e.retryable = 1;
        e.retry_after_ms = 1500;
        return aigw_emit_error(call, &e);
    }
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 11;
    u.completion_tokens = 7;
    u.cached_tokens = 3;
    u.cache_write_tokens = 2;
    u.reasoning_tokens = 5;
    int rc = aigw_emit_text(call, 0, "hi", 2);
    if (rc == 0)
        rc = aigw_emit_usage(call, &u);
    return rc ? rc : aigw_emit_finish(call, 0, AIGW_FINISH_STOP);
}

static int map_error(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err)
{
    if (call->status != 429)
        return call->host->oai_map_error(call, body, err);
    aigw_error_init(err);
    err->status = 429;
    err->type = "rate_limit_error";
    err->code = "slow_down";
    err->message = "too many requests";
    err->retryable = 1;
    err->retry_after_ms = 2500;
    return 0;
}

static const struct aigw_provider provider = {
    .abi_version = AIGW_ABI_VERSION,
    .struct_size = sizeof(struct aigw_provider),
    .name = "Loader Emitter",
    .vkey = EMITTER_VKEY,
    .version = "1.0.0",
    .capabilities = AIGW_CAP_CHAT,
    .env = env,
    .build_request = build,
    .parse_response = parse,
    .stream_event = stub_event,
    .map_error = map_error,
};

LOADER_ENTRY(provider)
