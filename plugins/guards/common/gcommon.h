/*
 * gcommon - what the built-in guards share, compiled into each guard's shared object (guards
 * see only the SDK): the texts of a request, a small growable string, and one scanning driver
 * that turns a guard's matcher into the three hooks' behaviour:
 *
 *   request   every text of the request is scanned whole; block denies naming where
 *             ("messages[1].content"), redact rewrites the string
 *   delta     the window's text (with the sent context before it) is scanned; a match that
 *             may still grow (or a match's beginning at the end of the text) is held back with
 *             t->hold rather than judged; block denies, redact uses host->replace()
 *   error     as delta, with nothing to hold; always redacts (an error goes out anyway)
 *
 * A matcher never sees anything but bytes and never reports matched text: reasons name the
 * kind of thing found ("payment card number"), never the thing.
 *
 * Threading: stateless; the matcher's instance is read-only.
 */
#ifndef GG_COMMON_H
#define GG_COMMON_H

#include <stddef.h>

#include <aigw/plugin.h>

/* ---- strings -------------------------------------------------------------------------------- */

struct gg_str {
    char *p;
    size_t len, cap;
    int oom;
};

void gg_str_add(struct gg_str *s, const char *p, size_t n);
void gg_str_free(struct gg_str *s);

/* ---- the texts of a request ----------------------------------------------------------------- */

/* Called for each text: item is a cJSON string (replace its value with cJSON_SetValuestring);
 * where is its path, e.g. "messages[2].content[0].text". Non-zero stops the walk and is
 * returned. Texts visited: messages[].content (a string, or the parts' "text", a refusal
 * part's "refusal"), messages[].refusal, messages[].tool_calls[].function.arguments,
 * messages[].function_call.arguments, tools[].function.description and every "description"
 * string in tools[].function.parameters (and the same of the older "functions" list and of
 * response_format.json_schema), prediction.content (as message content), "input" (a string
 * or an array of strings: embeddings), "prompt" (images, legacy completions). */
typedef int (*gg_text_fn)(void *ud, cJSON *item, const char *where);
int gg_request_texts(cJSON *req, gg_text_fn fn, void *ud);

/* Code points of a UTF-8 string (bytes that start a sequence). */
size_t gg_utf8_count(const char *s, size_t n);

/* ---- matching ------------------------------------------------------------------------------- */

struct gg_match {
    size_t start, end;       /* bytes of the subject */
    int partial;             /* may still grow, or only begins one: hold from start */
    const char *what;        /* "email address": for reasons, never the text */
    const char *replacement; /* what redaction writes */
};

struct gg_matcher {
    /* The first match (or partial one) starting at or after `from` in s[0, n); s[0, from) is
     * context (already sent, or nothing). final: nothing follows s. Returns 1 with m filled,
     * 0 when there is none, or a negative AIGW_E* code. *scratch starts NULL per scan; what the
     * matcher puts there is freed with scratch_free after the scan. */
    int (*find)(const void *inst, const char *s, size_t n, size_t from, int final,
                struct gg_match *m, void **scratch);
    void (*scratch_free)(void *scratch);
    /* Optional: where held text must start anyway (e.g. the last words a word list could
     * still complete); n when nothing needs holding. */
    size_t (*tail)(const void *inst, const char *s, size_t n, size_t from, void **scratch);
    const void *inst;
    int redact; /* 1: redact, 0: block */
};

int gg_scan_request(struct aigw_guard_ctx *g, cJSON *req, const struct gg_matcher *m);
int gg_scan_delta(struct aigw_guard_ctx *g, struct aigw_guard_text *t, const struct gg_matcher *m);
int gg_scan_error(struct aigw_guard_ctx *g, struct aigw_guard_text *t, const struct gg_matcher *m);

/* ---- config helpers ------------------------------------------------------------------------- */

/* The string member `key` of cfg, or dflt. */
const char *gg_cfg_str(const cJSON *cfg, const char *key, const char *dflt);
/* The boolean member `key`, or dflt. */
int gg_cfg_bool(const cJSON *cfg, const char *key, int dflt);
/* The number member `key`, or dflt. */
double gg_cfg_num(const cJSON *cfg, const char *key, double dflt);
/* apply_to / stage style "input" | "output" | "both" -> AIGW_GUARD_INPUT|OUTPUT bits. */
unsigned gg_cfg_stages(const cJSON *cfg, const char *key);

#endif
