/*
 * aigw/plugin.h - the contract between the aigw gateway and a provider plugin.
 *
 * This is the only header aigw installs. A provider is one shared object that exports
 *
 *     const struct aigw_provider *aigw_plugin_entry(void);
 *
 * and nothing else. The gateway does all I/O (sockets, TLS, timers, retries, framing of
 * SSE / NDJSON / AWS event-stream, rendering OpenAI JSON); the plugin only translates:
 *
 *   build_request()   OpenAI request (cJSON)  -> provider request (URL, headers, body)
 *   parse_response()  provider JSON body      -> normalized chunks (emit)
 *   stream_event()    one provider frame      -> normalized chunks (emit)
 *   map_error()       provider error response -> OpenAI-shaped error
 *
 * ABI rules
 *   - Every struct shared across the boundary starts with abi_version and struct_size.
 *   - Members are only ever appended. A minor version bump appends; a major bump breaks.
 *   - The host refuses a plugin built against another major or a newer minor, and copies
 *     struct_size bytes of the descriptor into a zeroed struct of its own, so an older plugin
 *     reads as "absent" for every member it did not know about.
 *   - The host services table (struct aigw_host) follows the same rule: a plugin must check
 *     host->struct_size (AIGW_HOST_HAS) before using a member newer than the minor it targets.
 *   - The descriptor's abi_version is the version the plugin needs: AIGW_ABI_VERSION. By
 *     default that is this header's version, and an older host refuses to load the plugin.
 *     A plugin that should also load on older hosts defines AIGW_TARGET_MINOR to the oldest
 *     minor it supports before including this header (AIGW_ABI_VERSION follows it, and so
 *     do the layouts of the usage and error structs) and tests each newer host member first:
 *         if (AIGW_HOST_HAS(call->host, fail_code))
 *             return call->host->fail_code(call, 400, "unsupported", NULL, "...");
 *         return call->host->fail(call, 400, NULL, "...");
 *     On a 1.0 host, host->struct_size ends at `fail` and AIGW_HOST_HAS is false.
 *   - Members added after 1.0 carry a comment that opens with the minor that added them
 *     ("1.2"), so a reader sees what an older host or plugin lacks.
 *   - History: 1.0 first release; 1.1 appended host->fail_code and host->retry_after_ms;
 *     1.2 gave struct aigw_usage and struct aigw_error the size prefix (a plugin built for
 *     1.0 or 1.1 keeps the old layout, and the host reads it by the minor the plugin
 *     declares), scoped host->env to the plugin's own table, and appended
 *     AIGW_OP_COUNT_TOKENS, the REASONING_SIGNATURE / REASONING_REDACTED chunks,
 *     call->inbound / inbound_body and AIGW_FRAMING_JSON_SEQ; 1.3 made host->json_parse's
 *     trees read-only; 1.4 appended aigw_oai_opts.top_level_only and cut a stream's
 *     call->body and inbound_body to "model" once the client has had bytes of it; 1.5
 *     appended aigw_guard.instance_stages and aigw_usage.cost_usd (a provider's own
 *     statement of what the request cost); 1.6 appended aigw_provider.cancel_build (the
 *     request that stops a job its call left unfinished).
 *
 * Threading rules
 *   - init() and fini() run once, on the main thread, before and after any request.
 *   - Every other callback may run on any thread, concurrently for different calls, but never
 *     concurrently for the same call. Per-call data lives in call->state (state_size bytes,
 *     zeroed, owned by the host) or in memory from host->alloc() (freed with the call).
 *   - Plugin-global data set up in init() must be read-only afterwards (or guarded by the
 *     plugin itself).
 *
 * Memory rules
 *   - Arguments are borrowed for the duration of the callback. Strings handed to the host
 *     (URLs, headers, bodies) are copied by the host.
 *   - call->body and call->inbound_body are whole while a request is built and a whole
 *     answer parsed. In a stream, once the client has had bytes of the answer (no retry can
 *     follow), the host cuts both down to their "model" member between two stream_event()
 *     calls, so read what a stream needs of the request before its first event, and keep
 *     no pointer into them across callbacks. (Since 1.4.)
 *   - cJSON objects given to host->set_body_json() become the host's. cJSON objects returned
 *     by host->json_parse() belong to the call: inside stream_event() they are freed when that
 *     stream_event() returns (a long stream must not accumulate parsed events), elsewhere when
 *     the call ends. Keep what must outlive an event in call->state, or copy it with strndup.
 *   - Trees from host->json_parse() are read-only (the host keeps them in call memory, not one
 *     malloc per node): never cJSON_Delete them or any part, nor detach, replace, add or set
 *     items, nor hand a part to set_body_json() or a tree you delete. Read them, print them,
 *     or cJSON_Duplicate() what you need to change. (Since 1.3; a plugin declaring 1.0 to
 *     1.2 still gets trees it may take apart.) A body whose tree would pass the call's cap parses
 * as NULL.
 *   - Memory from host->alloc/strf/strndup lives until the call ends, capped per call.
 *   - Plugins link the system libcjson and must never call cJSON_InitHooks().
 *
 * Error rules
 *   - Callbacks return AIGW_OK (0), a positive status where documented, or a negative AIGW_E*
 *     code. A callback that fails must not have emitted a finish chunk for the failure; the host
 *     turns the code into an OpenAI error (AIGW_EINVAL -> 400, AIGW_EPROTO -> 502, ...).
 *
 * Secrets
 *   - Every env variable flagged AIGW_ENV_SECRET is scrubbed by the host from every log line and
 *     error body. Headers added with AIGW_HDR_SECRET are never logged. Plugins must not log
 *     credentials themselves.
 */
#ifndef AIGW_PLUGIN_H
#define AIGW_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versioning --------------------------------------------------------------------------- */

#define AIGW_ABI_MAJOR 1
#define AIGW_ABI_MINOR 6 /* this header's minor */
#define AIGW_ABI_VERSION_OF(major, minor) ((uint32_t)(((major) << 16) | (minor)))

/* The minor a plugin is built for. A plugin that must also load on older hosts defines it
 * before including this header (#define AIGW_TARGET_MINOR 1): AIGW_ABI_VERSION, which the
 * descriptor and aigw_chunk_init() declare, and the layout of struct aigw_usage and struct
 * aigw_error are then that minor's, so old and new hosts read them alike. */
#ifndef AIGW_TARGET_MINOR
#define AIGW_TARGET_MINOR AIGW_ABI_MINOR
#endif
#if AIGW_TARGET_MINOR < 0 || AIGW_TARGET_MINOR > AIGW_ABI_MINOR
#error "AIGW_TARGET_MINOR must name a minor this header knows (0 to AIGW_ABI_MINOR)"
#endif
#define AIGW_ABI_VERSION AIGW_ABI_VERSION_OF(AIGW_ABI_MAJOR, AIGW_TARGET_MINOR)
#define AIGW_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define AIGW_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The exported entry point's name, for hosts that look it up by string. */
#define AIGW_PLUGIN_ENTRY_SYMBOL "aigw_plugin_entry"

/* True when a struct handed over by the other side is large enough to hold `member`. */
#define AIGW_HAS_MEMBER(ptr, type, member)                                                         \
    ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))
#define AIGW_HOST_HAS(host, member) AIGW_HAS_MEMBER(host, struct aigw_host, member)

/* ---- return codes ------------------------------------------------------------------------- */

enum aigw_status {
    AIGW_OK = 0,
    AIGW_CONTINUE = 1,   /* parse_response(): another upstream request was set up; send it */
    AIGW_DONE = 2,       /* stream_event(): the stream is complete, stop reading */
    AIGW_ENOMEM = -1,    /* out of memory */
    AIGW_EINVAL = -2,    /* the client's request cannot be translated (-> 400) */
    AIGW_EPROTO = -3,    /* the upstream broke its protocol (-> 502) */
    AIGW_ENOTSUP = -4,   /* the provider cannot do this (-> 400, code "unsupported") */
    AIGW_ECONFIG = -5,   /* missing or bad configuration / credentials (-> 500) */
    AIGW_ETOOBIG = -6,   /* a cap was hit (-> 502 upstream side, 413 client side) */
    AIGW_EINTERNAL = -7, /* anything else (-> 500) */
};

/* ---- bytes -------------------------------------------------------------------------------- */

/* Bytes from the network are pointer + length, never assumed NUL-terminated. */
struct aigw_bytes {
    const char *ptr;
    size_t len;
};

/* ---- capabilities ------------------------------------------------------------------------- */

enum aigw_capability {
    AIGW_CAP_CHAT = 1u << 0,
    AIGW_CAP_STREAM = 1u << 1,
    AIGW_CAP_TOOLS = 1u << 2,
    AIGW_CAP_VISION = 1u << 3,
    AIGW_CAP_JSON_SCHEMA = 1u << 4,
    AIGW_CAP_EMBEDDINGS = 1u << 5,
    AIGW_CAP_IMAGES = 1u << 6,
    AIGW_CAP_REASONING = 1u << 7,
    AIGW_CAP_MODELS = 1u << 8, /* can list its models live (models_build/models_parse) */
    AIGW_CAP_COUNT_TOKENS = 1u << 9, /* 1.2: build_request and parse_response also serve
                                        AIGW_OP_COUNT_TOKENS (call->op says which) */
};

/* ---- response framing --------------------------------------------------------------------- */

/* How the host cuts a response body into frames before handing them to the plugin. */
enum aigw_framing {
    AIGW_FRAMING_JSON = 0,       /* whole body, to parse_response() (the default) */
    AIGW_FRAMING_SSE = 1,        /* text/event-stream: one frame per event */
    AIGW_FRAMING_NDJSON = 2,     /* one frame per non-empty line */
    AIGW_FRAMING_EVENTSTREAM = 3, /* AWS application/vnd.amazon.eventstream, CRC-checked */
    /* 1.2: a sequence of JSON documents: SSE events (as AIGW_FRAMING_SSE), plus bare JSON
     * objects outside any event, possibly over several lines, one frame each (event empty),
     * as Google ends a failing stream. A body ending inside an object is a protocol error. */
    AIGW_FRAMING_JSON_SEQ = 4
};

/* One frame of a streamed response. */
struct aigw_frame {
    uint32_t abi_version;
    uint32_t struct_size;
    /* SSE: the `event:` field (empty when absent). EVENTSTREAM: `:event-type`, or
     * `:exception-type` when is_exception is set. NDJSON: empty. */
    struct aigw_bytes event;
    /* SSE: the data lines joined with '\n'. NDJSON: the line without its terminator.
     * EVENTSTREAM: the payload. JSON_SEQ: an event's data, or a bare object's text. */
    struct aigw_bytes data;
    /* EVENTSTREAM: the frame's :message-type is "exception" or "error". */
    int is_exception;
};

/* ---- environment table -------------------------------------------------------------------- */

enum aigw_env_flag {
    AIGW_ENV_REQUIRED = 1u << 0, /* the provider is inactive unless this is set */
    AIGW_ENV_SECRET = 1u << 1,   /* never printed; scrubbed from logs and error bodies */
    AIGW_ENV_ANY_OF = 1u << 2,   /* at least one variable flagged ANY_OF must be set */
};

struct aigw_env_var {
    const char *name;          /* e.g. "OPENAI_API_KEY" */
    unsigned flags;            /* enum aigw_env_flag */
    const char *default_value; /* used by host->env() when unset; NULL for none */
    const char *help;          /* one line for --list-providers and the man page */
};

/* ---- operations ------------------------------------------------------------------------- */

enum aigw_op {
    AIGW_OP_CHAT = 1,        /* /v1/chat/completions and /v1/completions (as chat) */
    AIGW_OP_EMBEDDINGS = 2,  /* /v1/embeddings */
    AIGW_OP_IMAGES = 3,      /* /v1/images/generations */
    AIGW_OP_MODELS = 4,      /* live model listing */
    AIGW_OP_CREDENTIALS = 5, /* a credential fetch (credentials_build/credentials_parse) */
    AIGW_OP_COUNT_TOKENS = 6, /* 1.2: count a chat request's input tokens (answered by one
                                 USAGE chunk with prompt_tokens); optional capability */
};

/* ---- normalized chunks ------------------------------------------------------------------ */

enum aigw_finish {
    AIGW_FINISH_NONE = 0,
    AIGW_FINISH_STOP = 1,
    AIGW_FINISH_LENGTH = 2,
    AIGW_FINISH_TOOL_CALLS = 3,
    AIGW_FINISH_CONTENT_FILTER = 4,
    AIGW_FINISH_FUNCTION_CALL = 5,
};

enum aigw_chunk_type {
    AIGW_CHUNK_META = 1,      /* id, model, created: response identity (optional) */
    AIGW_CHUNK_TEXT = 2,      /* choice, text: assistant content */
    AIGW_CHUNK_REASONING = 3, /* choice, text: reasoning / thinking text */
    AIGW_CHUNK_REFUSAL = 4,   /* choice, text */
    AIGW_CHUNK_TOOL_CALL = 5, /* choice, tool_index, id + name (first piece), text = args piece */
    AIGW_CHUNK_FINISH = 6,    /* choice, finish */
    AIGW_CHUNK_USAGE = 7,     /* usage (cumulative; the last one wins) */
    AIGW_CHUNK_ERROR = 8,     /* error: an in-band upstream error; ends the response */
    AIGW_CHUNK_EMBEDDING = 9, /* index, vector, vector_len */
    AIGW_CHUNK_IMAGE = 10,    /* index, url or b64 (text), revised_prompt (name) */
    AIGW_CHUNK_MODEL = 11,    /* id: one model id from a live listing */
    AIGW_CHUNK_EXTRA = 12,    /* name = top-level key, extra = JSON value (e.g. citations) */
    AIGW_CHUNK_REASONING_SIGNATURE = 13, /* 1.2: choice, text: a piece of the signature that
                                            closes the current reasoning block (Anthropic) */
    AIGW_CHUNK_REASONING_REDACTED = 14,  /* 1.2: choice, text: one opaque redacted reasoning
                                            block's data, whole */
};

/* Token counts; -1 means "not reported". Since 1.2 it opens with the size prefix (fill it
 * with aigw_usage_init()); a plugin built for 1.0 or 1.1 keeps the unprefixed layout, and the
 * host reads each layout by the minor the plugin declares. */
struct aigw_usage {
#if AIGW_TARGET_MINOR >= 2
    uint32_t abi_version; /* 1.2 */
    uint32_t struct_size; /* 1.2 */
#endif
    int64_t prompt_tokens;      /* as OpenAI counts them: includes cached prompt tokens */
    int64_t completion_tokens;  /* includes reasoning tokens */
    int64_t cached_tokens;      /* prompt tokens read from cache */
    int64_t cache_write_tokens; /* prompt tokens written to cache (Anthropic, Bedrock) */
    int64_t reasoning_tokens;   /* completion tokens spent reasoning */
#if AIGW_TARGET_MINOR >= 5
    /* 1.5: what the provider itself says the request cost, in USD (Perplexity's
     * usage.cost.total_cost), when it says so: search fees and counts the token fields cannot
     * carry are in it. Cumulative like the counts (the last report above 0 wins). The host
     * accounts it in place of the catalog's price of the counts. 0 or less, or not finite:
     * not stated (aigw_usage_init), and the catalog prices the counts. */
    double cost_usd;
#endif
};

/* An upstream failure. Prefixed since 1.2, like struct aigw_usage: fill it with
 * aigw_error_init() before setting members. */
struct aigw_error {
#if AIGW_TARGET_MINOR >= 2
    uint32_t abi_version; /* 1.2 */
    uint32_t struct_size; /* 1.2 */
#endif
    int status;          /* HTTP status for the client; 0 lets the host choose */
    const char *type;    /* OpenAI error.type, e.g. "invalid_request_error" */
    const char *code;    /* OpenAI error.code or NULL */
    const char *param;   /* OpenAI error.param or NULL */
    const char *message; /* human text; the host scrubs secrets from it */
    int retryable;       /* 1: another attempt (or target) may succeed */
    int64_t retry_after_ms; /* from Retry-After or a rate-limit header; -1 unknown */
};

struct aigw_chunk {
    uint32_t abi_version;
    uint32_t struct_size;
    int type;       /* enum aigw_chunk_type */
    int choice;     /* choice index, or the item index for EMBEDDING / IMAGE */
    int tool_index; /* TOOL_CALL: 0-based count of tool calls within the choice */
    int finish;     /* FINISH: enum aigw_finish */
    struct aigw_bytes id;   /* META: response id; TOOL_CALL: call id; MODEL: model id */
    struct aigw_bytes name; /* META: model; TOOL_CALL: function name; IMAGE: revised prompt;
                               EXTRA: key */
    struct aigw_bytes text; /* TEXT/REASONING/REFUSAL: text; TOOL_CALL: arguments piece;
                               IMAGE: url, or base64 when is_b64 */
    int64_t created;        /* META: unix seconds, 0 to let the host choose */
    const struct aigw_usage *usage; /* USAGE */
    const struct aigw_error *error; /* ERROR */
    const double *vector;           /* EMBEDDING */
    size_t vector_len;
    int is_b64;                     /* IMAGE */
    const cJSON *extra;             /* EXTRA: copied by the host */
};

/* ---- credentials ------------------------------------------------------------------------ */

struct aigw_credential {
    char token[4096];   /* the bearer token */
    int64_t expires_in; /* seconds from now; the host refreshes a minute before */
};

/* ---- the per-call handle ---------------------------------------------------------------- */

/* One upstream attempt of one client request. The public part below is read-only for the
 * plugin except `state`; the host keeps private data after it. */
struct aigw_call {
    uint32_t abi_version;
    uint32_t struct_size;
    const struct aigw_host *host;
    int op;              /* enum aigw_op */
    int stream;          /* the client asked for a stream */
    int include_usage;   /* the client asked for stream_options.include_usage */
    int attempt;         /* 1 for the first attempt of this request on this provider */
    const cJSON *body;   /* the client's OpenAI request, validated */
    const char *model;   /* the upstream model id (routing prefix and aliases resolved) */
    void *state;         /* state_size zeroed bytes, per attempt */
    void *plugin_data;   /* whatever init() stored in *plugin_data */
    int status;          /* HTTP status of the response being parsed (0 before) */
    int step;            /* 0 for the first upstream request, +1 per AIGW_CONTINUE */
    /* 1.2: the client's dialect ("openai", "anthropic", "responses"), and its own body when a
     * plugin that speaks that dialect natively may forward it unchanged but for the model
     * (cache_control, thinking signatures, citations survive); NULL otherwise. Read them only
     * when struct_size covers them. */
    const char *inbound;
    const cJSON *inbound_body;
};

/* ---- the host services table -------------------------------------------------------------- */

enum aigw_log_level { AIGW_LOG_ERROR = 0, AIGW_LOG_WARN = 1, AIGW_LOG_INFO = 2, AIGW_LOG_DEBUG = 3 };

enum aigw_header_flag {
    AIGW_HDR_SECRET = 1u << 0, /* never logged */
};

/* Options for the OpenAI-compatible helpers, for providers that speak OpenAI's wire. */
struct aigw_oai_opts {
    uint32_t abi_version;
    uint32_t struct_size;
    /* Fields to remove from the request body (NULL-terminated), e.g. {"logprobs", NULL}. */
    const char *const *drop_fields;
    /* 1: send stream_options.include_usage when streaming; 0: never send stream_options. */
    int send_include_usage;
    /* 1: put the upstream model id in the body's "model" (0 leaves it out: Azure deployments). */
    int set_model;
#if AIGW_TARGET_MINOR >= 4
    /* 1.4: 1 promises that the plugin only adds, replaces, renames or removes members of the
     * returned body's top level, never anything inside one, before set_body_json(): the host
     * then shares the client's member values rather than copying the whole request (a deep
     * copy and its free were 3 % of a chat request's instructions). 0: a deep copy to edit
     * at will. A host older than 1.4 ignores it and copies. */
    int top_level_only;
#endif
};

struct aigw_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Logging, prefixed with the plugin's vkey and, when call is set, the request id. */
    void (*log)(const struct aigw_call *call, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;

    /* The value a variable of the calling plugin's own table had when the plugin was loaded,
     * its default when unset or empty, or NULL. 1.2: NULL for any name the table does not
     * declare (another plugin's, or the process's); call it from a callback only. */
    const char *(*env)(const char *name);

    int64_t (*now_ms)(void);   /* monotonic milliseconds */
    int64_t (*unix_time)(void); /* wall-clock seconds */

    /* Per-call memory, freed with the call. NULL on failure (or over the call's cap). */
    void *(*alloc)(struct aigw_call *call, size_t size);
    char *(*strf)(struct aigw_call *call, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    char *(*strndup)(struct aigw_call *call, const char *ptr, size_t len);

    /* Building the upstream request. The host copies every argument. */
    int (*set_method)(struct aigw_call *call, const char *method);
    int (*set_url)(struct aigw_call *call, const char *url);
    int (*add_header)(struct aigw_call *call, const char *name, const char *value, unsigned flags);
    int (*set_body)(struct aigw_call *call, const char *ptr, size_t len);
    /* Takes ownership of `json` (even on failure) and serializes it as the body. */
    int (*set_body_json)(struct aigw_call *call, cJSON *json);
    int (*set_framing)(struct aigw_call *call, int framing);
    /* Wait this long before sending (polling); only for a request set up by AIGW_CONTINUE. */
    int (*set_delay_ms)(struct aigw_call *call, int64_t ms);

    /* A header of the upstream response (case-insensitive), or {NULL,0}. */
    struct aigw_bytes (*response_header)(struct aigw_call *call, const char *name);

    /* Hand one normalized chunk to the host. Returns 0 or a negative code (stop then). */
    int (*emit)(struct aigw_call *call, const struct aigw_chunk *chunk);

    /* Parse JSON owned by the call, read-only (see Memory rules). NULL on malformed input. */
    cJSON *(*json_parse)(struct aigw_call *call, struct aigw_bytes bytes);
    /* Serialize compactly into call memory. */
    char *(*json_print)(struct aigw_call *call, const cJSON *json);

    /* Crypto and encodings. Outputs go to caller buffers or call memory. */
    void (*sha256)(const void *data, size_t len, unsigned char out[32]);
    int (*hmac_sha256)(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[32]);
    void (*hex)(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
    char *(*base64_encode)(struct aigw_call *call, const void *data, size_t len, int url_safe);
    /* Decodes standard or URL-safe base64; *out_len receives the length. NULL on bad input. */
    unsigned char *(*base64_decode)(struct aigw_call *call, struct aigw_bytes in, size_t *out_len);
    /* RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over data with a PEM private key; the signature is
     * returned base64url-encoded without padding, in call memory. NULL on failure. */
    char *(*rs256_sign)(struct aigw_call *call, const char *pem_key, const void *data, size_t len);
    /* Percent-encode per RFC 3986 (unreserved characters kept), in call memory. */
    char *(*url_encode)(struct aigw_call *call, const char *ptr, size_t len);

    /* The current credential fetched through credentials_build/credentials_parse, or NULL. */
    const char *(*credential)(struct aigw_call *call);

    /* OpenAI-wire helpers: a deep copy of the client's body prepared for an OpenAI-compatible
     * upstream (model set, stream_options per opts, dropped fields removed). The caller owns it
     * (usually handing it to set_body_json). */
    cJSON *(*oai_request_body)(struct aigw_call *call, const struct aigw_oai_opts *opts);
    /* Translate an OpenAI chat.completion / embeddings / images JSON body into chunks. */
    int (*oai_parse_response)(struct aigw_call *call, struct aigw_bytes body);
    /* Translate one OpenAI chat.completion.chunk SSE frame into chunks ([DONE] -> AIGW_DONE). */
    int (*oai_stream_event)(struct aigw_call *call, const struct aigw_frame *frame);
    /* Fill err from an OpenAI-shaped error body (or a best guess from status). Strings live in
     * call memory. */
    int (*oai_map_error)(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err);
    /* Map a provider finish reason string to enum aigw_finish (stop/length/tool_calls/...,
     * plus common synonyms: end_turn, max_tokens, eos, model_length, tool_use, SAFETY, ...). */
    int (*finish_from_string)(struct aigw_bytes reason);

    /* Explain a refusal to the client: records an OpenAI-shaped error (status 400 unless
     * given; param may be NULL) for the current call and returns AIGW_EINVAL, so a plugin
     * writes `return host->fail(call, 400, "messages", "...%s...", x);` instead of a bare
     * AIGW_EINVAL that the client would only see as a generic message. error.code stays
     * null; fail_code (1.1) sets one. */
    int (*fail)(struct aigw_call *call, int status, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 4, 5)))
#endif
        ;

    /* ---- ABI 1.1 (test AIGW_HOST_HAS(host, member) before use when declaring 1.0) ---- */

    /* host->fail with an OpenAI error.code (NULL for none), which clients key on. Returns
     * AIGW_ENOTSUP when code is exactly "unsupported" (return code and document agree),
     * AIGW_EINVAL for any other code; the client sees the recorded error either way:
     *     return host->fail_code(call, 400, "unsupported", "n", "n > 1 is not supported");
     * gives 400 {"message":"n > 1 is not supported","type":"invalid_request_error",
     *            "param":"n","code":"unsupported"}. */
    int (*fail_code)(struct aigw_call *call, int status, const char *code, const char *param,
                     const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 5, 6)))
#endif
        ;
    /* How long the upstream response asks to wait before a retry, in milliseconds:
     * retry-after-ms when valid, else Retry-After as decimal seconds or as an HTTP-date (a
     * past date gives 0). Fractions round up; values are capped at 24 hours; -1 when neither
     * header is present and valid. For map_error() (err->retry_after_ms). */
    int64_t (*retry_after_ms)(struct aigw_call *call);
};

/* ---- the provider descriptor ------------------------------------------------------------ */

struct aigw_provider {
    uint32_t abi_version; /* AIGW_ABI_VERSION (AIGW_TARGET_MINOR decides it; "ABI rules") */
    uint32_t struct_size; /* sizeof(struct aigw_provider) as the plugin saw it */

    const char *name;     /* display name, e.g. "Anthropic" */
    const char *vkey;     /* routing key, e.g. "anthropic": [a-z0-9-]+, unique */
    const char *version;  /* the plugin's own version string */
    unsigned capabilities;  /* enum aigw_capability */
    int stream_framing;   /* enum aigw_framing of streamed chat responses */
    const struct aigw_env_var *env; /* terminated by an entry with name == NULL */
    size_t state_size;    /* bytes of zeroed per-call state the host provides */

    /* Called once after activation. May set *plugin_data. Returns 0, or a negative code and a
     * static reason in *why to decline (the provider then stays inactive, and its shared
     * object is unloaded: a declining init() must leave nothing pointing into it). */
    int (*init)(const struct aigw_host *host, void **plugin_data, const char **why);
    void (*fini)(void *plugin_data);

    /* Chat: build the upstream request for call->body (stream or not). */
    int (*build_request)(struct aigw_call *call);
    /* A 2xx JSON response (or any response of a JSON-framed step): emit chunks, or set up the
     * next request and return AIGW_CONTINUE. */
    int (*parse_response)(struct aigw_call *call, struct aigw_bytes body);
    /* One frame of a 2xx streamed response. Return AIGW_DONE at the provider's end marker. */
    int (*stream_event)(struct aigw_call *call, const struct aigw_frame *frame);
    /* The upstream stream ended (EOF or AIGW_DONE). May emit a final usage or finish. NULL ok. */
    int (*stream_end)(struct aigw_call *call);
    /* A non-2xx response: fill err. NULL means host->oai_map_error. */
    int (*map_error)(struct aigw_call *call, struct aigw_bytes body, struct aigw_error *err);

    /* Optional operations; NULL when the capability bit is not set. Their responses go to the
     * matching parse callback, which emits EMBEDDING / IMAGE / MODEL / USAGE chunks. */
    int (*embeddings_build)(struct aigw_call *call);
    int (*embeddings_parse)(struct aigw_call *call, struct aigw_bytes body);
    int (*images_build)(struct aigw_call *call);
    int (*images_parse)(struct aigw_call *call, struct aigw_bytes body);
    int (*models_build)(struct aigw_call *call);
    int (*models_parse)(struct aigw_call *call, struct aigw_bytes body);

    /* Optional credential refresh, executed and cached by the host: build the token request,
     * then parse its response into cred. build returns 1 when no fetch is needed (e.g. a
     * ready token is configured). */
    int (*credentials_build)(struct aigw_call *call);
    int (*credentials_parse)(struct aigw_call *call, struct aigw_bytes body,
                             struct aigw_credential *cred);

    /* 1.6: the call ended before the job its steps started (a prediction, a queued
     * generation) reached a final state: the client left, a deadline or the first-byte budget
     * ran out, the attempt failed and another follows, the gateway is stopping. Build the
     * request that stops the job with set_method, set_url, add_header (AIGW_HDR_SECRET on the
     * credential) and set_body, set *job_id to the job's id (call memory; for the log, or
     * leave it NULL) and return 0: the host sends it once, on its own, with a short deadline
     * and at most one retry, and reads nothing of its answer. Return 1 when there is nothing
     * to stop (no job was started, or it succeeded, failed or was canceled already),
     * negative on failure (nothing is sent). Never called after a complete answer. NULL: the
     * provider starts no job that outlives its request. */
    int (*cancel_build)(struct aigw_call *call, const char **job_id);
};



#if defined(_WIN32)
#define AIGW_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define AIGW_EXPORT __attribute__((visibility("default")))
#else
#define AIGW_EXPORT
#endif

/* The one symbol a plugin exports (define it with AIGW_EXPORT). */
typedef const struct aigw_provider *(*aigw_plugin_entry_fn)(void);
AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

/* ---- inline conveniences (header-only; no ABI surface) ---------------------------------- */

static inline struct aigw_bytes aigw_bytes_of(const char *s)
{
    struct aigw_bytes b;
    b.ptr = s;
    b.len = 0;
    if (s)
        while (s[b.len])
            b.len++;
    return b;
}

static inline struct aigw_chunk aigw_chunk_init(int type, int choice)
{
    struct aigw_chunk c;
    size_t i;
    unsigned char *p = (unsigned char *)&c;
    for (i = 0; i < sizeof c; i++)
        p[i] = 0;
    c.abi_version = AIGW_ABI_VERSION;
    c.struct_size = (uint32_t)sizeof c;
    c.type = type;
    c.choice = choice;
    return c;
}

static inline int aigw_emit_text(struct aigw_call *call, int choice, const char *p, size_t n)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TEXT, choice);
    c.text.ptr = p;
    c.text.len = n;
    return call->host->emit(call, &c);
}

static inline int aigw_emit_reasoning(struct aigw_call *call, int choice, const char *p, size_t n)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_REASONING, choice);
    c.text.ptr = p;
    c.text.len = n;
    return call->host->emit(call, &c);
}

/* id and name only on the first piece of a call (NULL afterwards). */
static inline int aigw_emit_tool_call(struct aigw_call *call, int choice, int tool_index,
                                      const char *id, const char *name, const char *args,
                                      size_t args_len)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, choice);
    c.tool_index = tool_index;
    c.id = aigw_bytes_of(id);
    c.name = aigw_bytes_of(name);
    c.text.ptr = args;
    c.text.len = args_len;
    return call->host->emit(call, &c);
}

static inline int aigw_emit_finish(struct aigw_call *call, int choice, int finish)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_FINISH, choice);
    c.finish = finish;
    return call->host->emit(call, &c);
}

static inline int aigw_emit_usage(struct aigw_call *call, const struct aigw_usage *u)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    c.usage = u;
    return call->host->emit(call, &c);
}

/* Embedding `index` from a JSON array of numbers (the shape most providers answer with):
 * AIGW_EPROTO unless it is a non-empty array of numbers of at most max_dims entries
 * (max_dims 0: no cap), AIGW_ENOMEM when call memory runs out. */
static inline int aigw_emit_embedding_json(struct aigw_call *call, int index, const cJSON *vec,
                                           size_t max_dims)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EMBEDDING, index);
    const cJSON *x;
    double *v;
    size_t k = 0;
    int n = cJSON_GetArraySize(vec);
    if (!cJSON_IsArray(vec) || n <= 0 || (max_dims && (size_t)n > max_dims))
        return AIGW_EPROTO;
    v = (double *)call->host->alloc(call, (size_t)n * sizeof *v);
    if (!v)
        return AIGW_ENOMEM;
    cJSON_ArrayForEach(x, vec)
    {
        if (!cJSON_IsNumber(x))
            return AIGW_EPROTO;
        v[k++] = x->valuedouble;
    }
    c.vector = v;
    c.vector_len = k;
    return call->host->emit(call, &c);
}

static inline int aigw_emit_meta(struct aigw_call *call, const char *id, const char *model,
                                 int64_t created)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_META, 0);
    c.id = aigw_bytes_of(id);
    c.name = aigw_bytes_of(model);
    c.created = created;
    return call->host->emit(call, &c);
}

static inline int aigw_emit_error(struct aigw_call *call, const struct aigw_error *err)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_ERROR, 0);
    c.error = err;
    return call->host->emit(call, &c);
}

static inline void aigw_usage_init(struct aigw_usage *u)
{
#if AIGW_TARGET_MINOR >= 2
    u->abi_version = AIGW_ABI_VERSION;
    u->struct_size = (uint32_t)sizeof *u;
#endif
    u->prompt_tokens = u->completion_tokens = u->cached_tokens = -1;
    u->cache_write_tokens = u->reasoning_tokens = -1;
#if AIGW_TARGET_MINOR >= 5
    u->cost_usd = 0;
#endif
}

static inline void aigw_error_init(struct aigw_error *e)
{
#if AIGW_TARGET_MINOR >= 2
    e->abi_version = AIGW_ABI_VERSION;
    e->struct_size = (uint32_t)sizeof *e;
#endif
    e->status = 0;
    e->type = 0;
    e->code = 0;
    e->param = 0;
    e->message = 0;
    e->retryable = 0;
    e->retry_after_ms = -1;
}

/* ---- JSON getters (header-only wrappers over cJSON; no ABI surface) ---------------------- */

/* obj[key] (case-sensitive), or NULL when obj is not an object or lacks key. */
static inline const cJSON *aigw_json_get(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

/* The string obj[key], or NULL when absent or not a string. */
static inline const char *aigw_json_str(const cJSON *obj, const char *key)
{
    const cJSON *v = aigw_json_get(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The number obj[key], or dflt when absent or not a number. */
static inline double aigw_json_num(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = aigw_json_get(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* 1 or 0 for a JSON true or false at obj[key], dflt otherwise. */
static inline int aigw_json_bool(const cJSON *obj, const char *key, int dflt)
{
    const cJSON *v = aigw_json_get(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* A token count at obj[key]: a number from 0 to 2^53 (fractions dropped), else -1, the
 * "not reported" of struct aigw_usage. Checked before the cast: converting an out-of-range
 * double is undefined. */
static inline int64_t aigw_json_count(const cJSON *obj, const char *key)
{
    const cJSON *v = aigw_json_get(obj, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0
               ? (int64_t)v->valuedouble
               : -1;
}

#ifdef __cplusplus
}
#endif

/* ---- guard plugins (1.2) ---- */
/*
 * A guard checks what passes through the gateway and may stop or rewrite it: the client's
 * request after parsing and before routing, the answer's text as it streams, the final answer,
 * and upstream errors. A guard is a shared object (the same SDK, ABI and build as a provider)
 * that exports
 *
 *     const struct aigw_guard *aigw_guard_entry(void);
 *
 * instead of, or beside, aigw_plugin_entry. The operator lists guards in the config's
 * `guardrails` array ({name, stage, config, fail_open}); the host loads <guard dir>/<name>.so,
 * validates the entry's config against config_schema, and calls create() once per entry, so
 * the same guard may appear twice with different configs. The chain runs in list order and
 * stops at the first deny.
 *
 * The ABI, threading and memory rules of providers apply, plus:
 *   - create() and destroy() run on the main thread; the instance is read-only afterwards.
 *     Hooks run on any thread, concurrently for different requests, never for the same one.
 *   - Hooks do no I/O and never block. A guard that needs a service (a moderation API, a DLP
 *     endpoint) returns host->fetch(): the host makes the HTTP call with the guard's deadline
 *     and calls the same hook again with g->fetched set. A call that fails or times out is a
 *     failure of the guard (see fail_open below); the hook only ever sees a real response.
 *   - A hook returns an enum aigw_guard_verdict or a negative AIGW_E* code. A negative code, a
 *     verdict the hook may not give, or a failed fetch is a failure of the guard: the request
 *     (or the stream) is refused unless the entry says "fail_open": true, in which case the
 *     guard is skipped for this request (and the failure counted).
 *   - Reasons given to deny() and retry() reach the client and the log: they must never quote
 *     the matched text (a secret, a card number). Say what was found, not what it was.
 *   - The request is the internal OpenAI chat-shaped cJSON body (messages, model, ...; or the
 *     embeddings / images body for those operations); on_request may edit it in place with
 *     cJSON functions and then returns AIGW_GUARD_REWRITE (an edit returned with ALLOW is
 *     taken as a rewrite all the same: the host compares the body before and after).
 *   - Tool calls' arguments reach on_answer_delta too, one whole value at a time (kind
 *     AIGW_CHUNK_TOOL_CALL, final): edits apply to the decoded value, and the host writes the
 *     arguments again as JSON.
 *   - Answer text reaches on_answer_delta through a bounded window (struct aigw_guard_text):
 *     the host holds back the last `window` bytes of each text stream (and whatever a guard
 *     asks to hold with t->hold, up to the host's cap) so a pattern split across deltas is
 *     seen whole before any byte of it is sent. Edits go through host->replace(). Each guard
 *     sees the text the guards before it in the chain let through, so a guard that decides
 *     only on what it holds whole gives the same answer however the deltas were cut.
 *   - The guard kind arrived whole in 1.2: a guard declares AIGW_ABI_VERSION of 1.2 or later
 *     (this block is hidden from a plugin that sets AIGW_TARGET_MINOR below 2), and the host
 *     refuses a guard declaring an older minor.
 */
#if AIGW_TARGET_MINOR >= 2

#ifdef __cplusplus
extern "C" {
#endif

#define AIGW_GUARD_ENTRY_SYMBOL "aigw_guard_entry"
#define AIGW_GUARD_HOST_HAS(host, member) AIGW_HAS_MEMBER(host, struct aigw_guard_host, member)

enum aigw_guard_verdict {
    AIGW_GUARD_ALLOW = 0,   /* nothing to say */
    AIGW_GUARD_DENY = 1,    /* return host->deny(...): stops the chain, the client gets an error */
    AIGW_GUARD_REWRITE = 2, /* the request was edited, or edits were recorded with replace() */
    AIGW_GUARD_RETRY = 3,   /* return host->retry(...) from on_answer_final */
    AIGW_GUARD_PENDING = 4, /* return host->fetch(...): called again once the response is in */
};

/* Where a hook runs; the descriptor's `stages` says which a guard implements. */
enum aigw_guard_stage {
    AIGW_GUARD_INPUT = 1u << 0,  /* on_request */
    AIGW_GUARD_OUTPUT = 1u << 1, /* on_answer_delta, on_answer_final, on_error */
};

struct aigw_guard_host;

/* A service call a hook asks the host to make. Everything is copied by fetch(). */
struct aigw_guard_fetch {
    uint32_t abi_version;
    uint32_t struct_size;
    const char *method;          /* "POST" when NULL */
    const char *url;             /* http:// or https:// */
    const char *const *headers;  /* "Name: value" lines, NULL-terminated; never logged */
    struct aigw_bytes body;
    int64_t timeout_ms;          /* the deadline from now; the host caps it (see aigw.json(5)) */
};

/* The response to a fetch, as the re-called hook sees it in g->fetched. */
struct aigw_guard_fetched {
    uint32_t abi_version;
    uint32_t struct_size;
    int status;             /* the HTTP status (any: interpreting it is the guard's job) */
    struct aigw_bytes body; /* capped by the host; valid until the hook returns */
    int64_t elapsed_ms;
};

/* What every hook receives: one guard entry's view of one request. */
struct aigw_guard_ctx {
    uint32_t abi_version;
    uint32_t struct_size;
    const struct aigw_guard_host *host;
    void *instance;      /* what create() stored for this config entry */
    void *state;         /* state_size zeroed bytes, one per entry per request */
    const char *name;    /* the guard's name as configured */
    int stage;           /* enum aigw_guard_stage of the running hook */
    int op;              /* enum aigw_op of the request */
    int stream;          /* the client asked for a stream */
    int attempt;         /* 0; 1 for the answer to a retry asked by host->retry() */
    const char *model;   /* the model the client asked for */
    const char *inbound; /* the client's dialect: "openai", "anthropic", "responses" */
    const char *request_id;
    const struct aigw_guard_fetched *fetched; /* the response when re-called after fetch() */
};

/* One stream of answer text (per choice and kind) as on_answer_delta and on_error see it. */
struct aigw_guard_text {
    uint32_t abi_version;
    uint32_t struct_size;
    int choice;
    int kind;                 /* AIGW_CHUNK_TEXT, _REASONING or _REFUSAL; 0: an error message;
                                 AIGW_CHUNK_TOOL_CALL: one value of a tool call's arguments
                                 (a decoded string, a member name or a number), whole (final) */
    struct aigw_bytes before; /* the last bytes this guard passed on, just before text (64 or
                                 more, up to the largest window of the chain): context for
                                 look-behind (word boundaries), read-only */
    struct aigw_bytes text;   /* what this guard has not passed on yet, in whole characters (a
                                 UTF-8 sequence a delta cut waits for its end); the newest
                                 delta is at its end */
    size_t fresh;             /* how many of text's last bytes this call added */
    uint64_t offset;          /* how many bytes of this stream it passed on before text */
    int final;                /* 1: nothing follows (the choice finished, the stream ended, or
                                 the host's hold cap was reached): treat the end as the end */
    size_t hold;              /* in: text.len; out: lower it to keep text[hold..] back (a
                                 match that may still grow); the host passes on at most
                                 text.len - window bytes anyway, and everything when final */
};

/* The whole answer of one choice, after the chain's edits, for on_answer_final: its message
 * content only (tool calls' names and arguments reach on_answer_delta, not this hook). */
struct aigw_guard_answer {
    uint32_t abi_version;
    uint32_t struct_size;
    int choice;
    struct aigw_bytes text; /* the choice's content text as the client gets it */
    int finish;             /* enum aigw_finish; AIGW_FINISH_NONE when the stream just ended */
    int tool_calls;         /* tool calls in the choice */
    int sent;               /* 1: streamed, the text already reached the client */
};

struct aigw_guard_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* Log lines carry the guard's name and the request id (g may be NULL in create()). Never
     * log matched text. */
    void (*log)(const struct aigw_guard_ctx *g, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    int64_t (*now_ms)(void); /* monotonic milliseconds */
    /* Per-request memory, freed when the request ends. NULL on failure or over the cap. */
    void *(*alloc)(struct aigw_guard_ctx *g, size_t size);
    /* Records why the request (or answer) is refused and returns AIGW_GUARD_DENY:
     *     return g->host->deny(g, "%s found in message %d", "payment card number", i);
     * The client gets 400 with code "guardrail_blocked", the guard's name and this reason. */
    int (*deny)(struct aigw_guard_ctx *g, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* Inside on_answer_delta / on_error: replace text[off, off+len) of the current
     * aigw_guard_text with `with` (copied). Edits of one hook must not overlap; they apply in
     * order of offset after the hook returns (the next guard sees the result). 0, or
     * AIGW_EINVAL (out of range, overlapping, wrong hook), AIGW_ENOMEM. */
    int (*replace)(struct aigw_guard_ctx *g, size_t off, size_t len, const char *with,
                   size_t with_len);
    /* From on_answer_final: asks the host to send the request once more with the answer and
     * this note appended as a user message. Returns AIGW_GUARD_RETRY, or AIGW_GUARD_DENY
     * (the note becoming the reason) when the answer was streamed or already retried. */
    int (*retry)(struct aigw_guard_ctx *g, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* From on_request or on_answer_final: the host makes this call and calls the hook again
     * with g->fetched. Returns AIGW_GUARD_PENDING, or a negative code (bad request, another
     * fetch already made by this hook, called from a hook that may not wait). */
    int (*fetch)(struct aigw_guard_ctx *g, const struct aigw_guard_fetch *req);
    /* From create(): a value (a service key from the config) the host masks in every log line
     * and error body from now on. */
    void (*secret)(const char *value);
    /* An environment variable, NULL when unset or empty. */
    const char *(*env)(const char *name);
    /* The JSON Schema subset aigw.json(5) documents (the one config_schema is written in):
     * schema_check returns 0 when schema keeps to it, schema_validate 0 when doc satisfies
     * schema; else AIGW_EINVAL with "path: reason" in err (paths name members, never values). */
    int (*schema_check)(const cJSON *schema, char *err, size_t errsize);
    int (*schema_validate)(const cJSON *schema, const cJSON *doc, char *err, size_t errsize);
};

struct aigw_guard {
    uint32_t abi_version; /* AIGW_ABI_VERSION */
    uint32_t struct_size; /* sizeof(struct aigw_guard) as the plugin saw it */

    const char *name;          /* [a-z0-9-]+; the config's `name` and the file's base name */
    const char *version;       /* the guard's own version string */
    const char *description;   /* one line for operators */
    /* A JSON Schema for the entry's `config`, in the subset aigw.json(5) documents (type,
     * properties, required, items, enum, additionalProperties, minimum/maximum,
     * minLength/maxLength, minItems/maxItems). The host checks the config against it before
     * create(), so create() sees only well-shaped configs. NULL: any object. */
    const char *config_schema;
    unsigned stages;   /* enum aigw_guard_stage: the hooks implemented */
    size_t state_size; /* zeroed per-request bytes for each entry (g->state) */
    size_t window;     /* look-back in bytes on_answer_delta needs; the host caps it */

    /* Builds one instance from an entry's config (NULL when absent). On failure: a negative
     * code and a one-line reason in err naming the key, e.g. "patterns[2]: missing )". */
    int (*create)(const struct aigw_guard_host *host, const cJSON *config, void **instance,
                  char *err, size_t errsize);
    void (*destroy)(void *instance);

    /* After parsing, before routing: ALLOW, DENY, REWRITE (request edited) or PENDING. */
    int (*on_request)(struct aigw_guard_ctx *g, cJSON *request);
    /* Each text delta, inside the window: ALLOW, REWRITE (replace() used) or DENY. */
    int (*on_answer_delta)(struct aigw_guard_ctx *g, struct aigw_guard_text *t);
    /* Once per choice, after its last delta: ALLOW, DENY, RETRY or PENDING. */
    int (*on_answer_final)(struct aigw_guard_ctx *g, const struct aigw_guard_answer *a);
    /* An upstream error about to reach the client: ALLOW, or REWRITE after replace() on the
     * message (e.g. a provider echoing the prompt). Other verdicts count as ALLOW. */
    int (*on_error)(struct aigw_guard_ctx *g, const struct aigw_error *err,
                    struct aigw_guard_text *message);
#if AIGW_TARGET_MINOR >= 5
    /* 1.5: the stages an instance runs at, within `stages`, for a guard whose config can turn
     * one off (pii's "apply_to": "output" reads no request). The host then treats the entry
     * as one whose `stage` leaves the others out: their hooks are not called, no outcome is
     * counted there, and input the entry could not read is not refused on its account. NULL:
     * every stage in `stages`. Called once per entry, after create(). */
    unsigned (*instance_stages)(const void *instance);
#endif
};

/* The one symbol a guard exports (define it with AIGW_EXPORT). */
typedef const struct aigw_guard *(*aigw_guard_entry_fn)(void);
AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* AIGW_TARGET_MINOR >= 2 */

#endif /* AIGW_PLUGIN_H */
