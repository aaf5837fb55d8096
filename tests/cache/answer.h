/*
 * answer - what a client reads out of a chat answer, streamed or not, so tests can say "the
 * same answer": the text, the reasoning, every tool call (id, name, arguments), the finish
 * reason and the usage. A stream is checked for well-formedness on the way (every event
 * JSON, one id, [DONE] last).
 */
#ifndef AIGW_TEST_CACHE_ANSWER_H
#define AIGW_TEST_CACHE_ANSWER_H

#include "e2e/e2e.h"

#define ANSWER_TOOLS 4

struct answer {
    char content[4096];
    char reasoning[4096];
    int ntools;
    struct {
        char id[64], name[64], args[512];
    } tools[ANSWER_TOOLS];
    char finish[32];
    long long prompt, completion, total, cached, reasoning_tokens; /* -1: absent */
};

/* From a chat.completion document / a chat.completion.chunk stream (asserts its shape). */
void answer_of_json(struct e2e_resp *r, struct answer *a);
void answer_of_stream(struct e2e_resp *r, struct answer *a);
/* Asserts a and b are the same answer (what says which request each came from). */
void answer_same(const struct answer *a, const struct answer *b, const char *what);

/* The Responses API: the response object of a document, or of a stream's terminal event
 * (asserts the event sequence is well-formed). Owned by r. */
const cJSON *responses_doc(struct e2e_resp *r);
const cJSON *responses_stream(struct e2e_resp *r);
/* Asserts two response objects carry the same output (items' type, text, call names,
 * arguments and call ids) and usage; their own ids may differ. */
void responses_same(const cJSON *a, const cJSON *b, const char *what);

#endif
