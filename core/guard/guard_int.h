/*
 * guard_int - what the guard chain's files share: the loaded module, the chain's entries, one
 * request's run, and the helpers that call a hook and settle its result. Not for other layers:
 * they use guard.h.
 *
 * Threading: as guard.h (chain read-only while serving; a run is one request's).
 */
#ifndef GW_GUARD_INT_H
#define GW_GUARD_INT_H

#include <stdatomic.h>

#include "guard/guard.h"
#include "lib/arena.h"
#include "lib/buf.h"

#define GW_GUARD_NAME_MAX 65 /* 64 bytes of [a-z0-9-] */
#define GW_GUARD_RUN_ARENA (8u << 20)
#define GW_GUARD_EDITS_MAX 4096 /* replace() calls per hook call */
#define GW_GUARD_FETCHES_MAX 4  /* fetch() calls per entry per request */
/* (choice, kind) text streams per answer: the three kinds of text of each of the 128 choices
 * a chat request may ask for (n) */
#define GW_GUARD_STREAMS_MAX (3 * 128)
#define GW_GUARD_PENDING_CAP (16u << 20)
/* Levels of a request the edit check walks: as deep as a parsed body can be. */
#define GW_GUARD_HASH_DEPTH CJSON_NESTING_LIMIT

/* One loaded shared object (guard_loader.c). */
struct gw_guard_mod {
    struct aigw_guard desc; /* the plugin's descriptor, zero-extended to our size */
    char *path;
    void *handle;  /* lt_dlhandle */
    cJSON *schema; /* desc.config_schema parsed, or NULL */
};

/* Loads path and checks that it is a guard named want (its ABI, its descriptor, its schema).
 * 0, or negative with the reason in err. */
int gw_guard_mod_load(const char *path, const char *want, struct gw_guard_mod **out, char *err,
                      size_t errsize);
void gw_guard_mod_free(struct gw_guard_mod *m);

/* One `guardrails` entry: a module and an instance made from the entry's config. */
struct gw_guard_entry {
    struct gw_guard_mod *mod; /* shared with other entries of the same guard */
    char name[GW_GUARD_NAME_MAX];
    unsigned stages; /* what runs: the entry's `stage` within what the guard implements */
    int fail_open;
    int keys_only; /* runs only for a gateway key that names it (gw_guard_run_opts.named) */
    void *instance;
    int created;
    size_t window;
    _Atomic uint64_t counts[2][GW_GUARD_O_COUNT]; /* [input, output][outcome] */
};

struct gw_guard_chain {
    struct gw_guard_mod **mods;
    size_t nmods;
    struct gw_guard_entry *entries;
    size_t n;
    unsigned stages; /* union of the entries' */
    size_t window;   /* largest window of the output entries with a delta hook */
    int has_delta, has_final, has_error;
    int has_keys_only; /* some entry runs only for the gateway keys that name it */
};

enum gw_guard_hook { GW_HOOK_NONE, GW_HOOK_REQUEST, GW_HOOK_DELTA, GW_HOOK_FINAL, GW_HOOK_ERROR };

/* The context a hook gets, with the host's bookkeeping behind the public part. */
struct gw_guard_hctx {
    struct aigw_guard_ctx pub; /* first: hooks' pointers are cast back */
    struct gw_guard_run *run;
    size_t idx;
    int skip; /* failed open: left out for the rest of the request */
    int fetches;
    unsigned char outcome[2]; /* heaviest enum gw_guard_outcome per stage */
};

struct gw_guard_edit {
    size_t off, len;           /* in the text the hook saw */
    size_t with_off, with_len; /* in run->edit_bytes */
};

/* One delta guard's place in a text stream: what it has not passed on yet. */
struct gw_guard_stage {
    struct gw_buf pending; /* received, not passed on */
    struct gw_buf before;  /* the last bytes it passed on, as context */
    uint64_t sent;
};

/* One stream of answer text, a (choice, kind) pair, through one stage per delta guard (in
 * chain order: each guard judges what the one before it passed on). */
struct gw_guard_stream {
    int choice, kind;
    struct gw_guard_stage *st; /* chain->n stages, used for the entries with a delta hook */
};

struct gw_guard_choice {
    int choice;
    struct gw_buf answer; /* content text as sent, for on_answer_final */
    int tool_calls;
    int overflow; /* answer passed GW_GUARD_ANSWER_CAP: final hooks cannot judge it */
    int done;     /* its final hooks ran */
};

/* One tool call of the answer held whole until its choice moves on (tools.c). */
struct gw_guard_tool {
    int choice, index;
    struct gw_buf id, name, args;
};

struct gw_guard_queued {
    struct aigw_chunk c;
    struct aigw_usage usage;
    struct aigw_error error;
    cJSON *extra;
};

struct gw_guard_run {
    const struct gw_guard_chain *chain;
    struct gw_arena arena; /* host->alloc, copies of strings the run hands out */
    struct gw_guard_hctx *hx;
    int op, stream, attempt;
    char *model, *inbound, *request_id;

    size_t req_next; /* the entry on_request resumes at */
    int req_done, rewritten;
    int req_hashed;    /* req_hash holds the body as the last request hook left it */
    uint64_t req_hash; /* to tell an edit a hook made but did not own up to (ALLOW) */

    int verdict; /* DENY, FAILED, RETRY once settled; ALLOW otherwise */
    size_t verdict_idx;
    unsigned verdict_stage;
    char reason[384];
    int uninspectable; /* FAILED because a guard cannot read the input (a 400, not a 503) */
    char *retry_note;
    int retry_choice;

    /* The hook being called. */
    int hook;
    struct gw_guard_hctx *cur;
    const char *text_ptr; /* the text replace() may edit */
    size_t text_len;
    struct gw_guard_edit *edits;
    size_t nedits, edits_cap;
    struct gw_buf edit_bytes;
    char hook_reason[384];
    int hook_denied, hook_retry, hook_fetched;

    /* A service call. */
    int pending;     /* a hook waits for fetch_done / fetch_failed */
    int fetch_state; /* 0 none, 1 asked, 2 answered, 3 failed */
    size_t pend_idx; /* the entry waiting */
    int pend_hook;   /* and its hook */
    struct gw_guard_fetch_req freq;
    struct aigw_guard_fetched fetched;
    char *fetched_body;
    char fetch_why[128];

    /* The answer. */
    struct gw_guard_stream *streams;
    size_t nstreams;
    struct gw_guard_choice *choices;
    size_t nchoices;
    struct gw_guard_tool *tools; /* held, in the order they began */
    size_t ntools;
    size_t tool_bytes; /* their arguments' bytes, capped at GW_GUARD_ANSWER_CAP */

    int wait_choice;  /* the choice whose final hooks wait (pending) */
    size_t wait_next; /* the entry they resume at */
    int wait_finish;  /* its finish chunk's value, -1 when from the end */
    int have_finish_chunk;
    struct aigw_chunk finish_chunk;
    struct gw_guard_queued *queue;
    size_t nqueue, queue_cap;
    int end_seen; /* on_end was called while waiting */
    int ended;    /* on_end completed */
};

/* Calls entry i's hook `hook` (the args are the hook's), settling the result: notes the
 * outcome, applies fail_open, records the run's verdict. Returns ALLOW to go on with the next
 * entry, or DENY / FAILED / PENDING / RETRY. For text hooks, text receives the edits. */
int gw_guard_call(struct gw_guard_run *run, size_t i, int hook, void *a, void *b);

/* Applies run->edits to buf (the text the hook saw); maps *pos (a position in the old text,
 * when not NULL) to the new one: edits before it shift it, an edit spanning it moves it to the
 * edit's start. 0 or negative. */
int gw_guard_apply_edits(struct gw_guard_run *run, struct gw_buf *buf, size_t *pos, size_t npos);

/* A TOOL_CALL chunk while delta guards run: held (or, when every one of them failed open,
 * passed on). ALLOW or a verdict that stops the answer, or negative. */
int gw_guard_tool_hold(struct gw_guard_run *run, const struct aigw_chunk *c, gw_guard_emit_fn emit,
                       void *ud);
/* The held calls of a choice (all when choice < 0) judged and passed on, in order. */
int gw_guard_tool_flush(struct gw_guard_run *run, int choice, gw_guard_emit_fn emit, void *ud);
void gw_guard_tools_free(struct gw_guard_run *run);

/* Frees a stream's stages. */
void gw_guard_stream_free(const struct gw_guard_chain *c, struct gw_guard_stream *s);

/* Entry i failed at `hook` (why is logged, never matched text): fail_open skips it for the rest
 * of the request (ALLOW), otherwise the run is refused (FAILED; error hooks never refuse). */
int gw_guard_fail(struct gw_guard_run *run, size_t i, int hook, const char *why);

/* The waiting entry's call failed (gw_guard_fetch_failed): settles it as a failure of the
 * guard at `hook`. ALLOW (fail_open: go on after it) or FAILED. */
int gw_guard_fetch_failure(struct gw_guard_run *run, int hook);

/* The heaviest outcome of entry h at stage. */
void gw_guard_note(struct gw_guard_hctx *h, unsigned stage, int outcome);

/* The host services table guards receive; host->secret() works only between
 * gw_guard_host_creating(1) and (0), around create() on the main thread. */
const struct aigw_guard_host *gw_guard_host(void);
void gw_guard_host_creating(int on);

#endif
