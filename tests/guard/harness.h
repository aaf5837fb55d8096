/*
 * harness - drives guard chains as the lifetime will: a chain from a JSON `guardrails` array
 * (guards from the build's plugins/guards/.libs, or a test module directory), a request
 * through the input stage, and an answer as text chunks cut at given offsets through the
 * output stage, collecting what would reach the renderer.
 */
#ifndef GUARD_HARNESS_H
#define GUARD_HARNESS_H

#include <stddef.h>

#include "guard/guard.h"

/* The build's guard directory (plugins/guards/.libs) or tests/guard/.libs (modules). */
const char *gh_guard_dir(void);
const char *gh_module_dir(void);

/* Loads a chain from a JSON array text; fails the test when it does not load. */
struct gw_guard_chain *gh_chain(const char *json);
struct gw_guard_chain *gh_chain_in(const char *json, const char *dir);
/* Loads and expects a failure: returns the error text (static). */
const char *gh_chain_err(const char *json);

struct gh_result {
    int verdict; /* enum gw_guard_verdict of the whole pass */
    char *text;  /* the choice-0 content text emitted, concatenated (malloc) */
    char *error; /* the error's message on DENY / FAILED (malloc), else NULL */
    char *code;  /* its code */
    int status;
    size_t chunks;  /* text chunks emitted */
    int finish;     /* a FINISH chunk was emitted */
    int split_utf8; /* an emitted text chunk began with a continuation byte */
};
void gh_result_free(struct gh_result *r);

/* The request JSON through the input stage: *out gets the (possibly rewritten) body printed
 * compactly (malloc), r the verdict and error. */
void gh_request(struct gw_guard_chain *c, const char *body, char **out, struct gh_result *r);

/* text (n bytes) as content chunks cut at cuts[0..ncuts) (ascending), then FINISH stop and
 * the end, through the output stage. stream: the client asked for a stream. */
void gh_answer(struct gw_guard_chain *c, const char *text, size_t n, const size_t *cuts,
               size_t ncuts, int stream, struct gh_result *r);
/* The same text whole, cut in two at every offset, and one byte per chunk: every pass must
 * send `want` exactly, never a chunk starting inside a UTF-8 sequence. */
void gh_every_split(struct gw_guard_chain *c, const char *text, const char *want);
/* As above, but every pass must end in a DENY, with `forbidden` neither sent before it nor
 * quoted in the reason. */
void gh_every_split_deny(struct gw_guard_chain *c, const char *text, const char *forbidden);

#endif
