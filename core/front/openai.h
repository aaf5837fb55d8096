/*
 * openai - the OpenAI API's dialects behind the seam (front/dialect.h): chat completions,
 * legacy completions, embeddings, images. Threading: stateless tables.
 */
#ifndef GW_FRONT_OPENAI_H
#define GW_FRONT_OPENAI_H

#include "front/dialect.h"

extern const struct gw_dialect gw_dialect_openai_chat;
extern const struct gw_dialect gw_dialect_openai_completions;
extern const struct gw_dialect gw_dialect_openai_embeddings;
extern const struct gw_dialect gw_dialect_openai_images;

/* OpenAI's {"error":{...}} document; also what aigw's own endpoints answer. */
int gw_openai_error_body(struct gw_buf *out, int status, const char *type, const char *code,
                         const char *param, const char *message);

#endif
