/*
 * anthropic_conv.h - the request translation's shared pieces: the body being assembled and
 * the helpers that attach to it. Split between anthropic_messages.c (the conversation) and
 * anthropic_request.c (everything else in the body). Private to the two plugins that compile
 * them (anthropic.so, vertex-ai.so); -fvisibility=hidden keeps the names inside each.
 */
#ifndef AIGW_ANTHROPIC_CONV_H
#define AIGW_ANTHROPIC_CONV_H

#include "anthropic_xlate.h"

/* The body being assembled. Anthropic wants strict user/assistant alternation, so blocks of
 * consecutive same-role OpenAI messages land in one message (`cur`). Allocation failures are
 * sticky in `oom` and checked once at the end, which keeps the mapping code readable. */
struct conv {
    struct aigw_call *call;
    int oom;
    cJSON *messages; /* array of {role, content:[blocks]} */
    cJSON *cur;      /* content array of the last message, or NULL */
    const char *cur_role;
    cJSON *system; /* array of text blocks */
};

/* A 400 whose reason becomes the client's error message instead of a generic one. */
int anth_bad(struct aigw_call *call, const char *why);
/* A 400 with error.code "unsupported" (clients key on it); returns AIGW_ENOTSUP. */
int anth_unsupported(struct aigw_call *call, const char *why);
const char *anth_str_of(const cJSON *obj, const char *key);
/* Attach item to parent (object when key is set, else array); consumes item. A failure is
 * sticky in cv->oom. */
cJSON *anth_put(struct conv *cv, cJSON *parent, const char *key, cJSON *item);
void anth_put_str(struct conv *cv, cJSON *parent, const char *key, const char *s);
cJSON *anth_typed(struct conv *cv, cJSON *parent, const char *key, const char *type);

/* A text block in dst, keeping the part's cache_control. */
void anth_text_block(struct conv *cv, cJSON *dst, const char *text, const cJSON *part);
/* The OpenAI messages into cv->messages and cv->system, then shaped as Anthropic accepts. */
int anth_add_messages(struct conv *cv, const cJSON *msgs);
int anth_finish_messages(struct conv *cv);

#endif
