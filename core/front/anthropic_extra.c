/*
 * anthropic_extra - the anthropic plugin's private channel into the renderer (chunks of type
 * AIGW_CHUNK_EXTRA, see anthropic.h): the upstream's own stop reason and sequence, and blocks
 * the chunk types do not carry (citations, server tools), passed on as they came.
 */
#include <stdlib.h>
#include <string.h>

#include "front/anthropic.h"
#include "front/anthropic_render.h"

static int name_is(const struct aigw_chunk *c, const char *s)
{
    return c->name.len == strlen(s) && !memcmp(c->name.ptr, s, c->name.len);
}

static char *dup_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

/* A block the plugin hands over as it is: never one the chunk types carry (their deltas and
 * signatures would not follow), always one with a type. */
static int raw_block_ok(const cJSON *b)
{
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "type"));
    return cJSON_IsObject(b) && t && strcmp(t, "thinking") && strcmp(t, "redacted_thinking") &&
           strcmp(t, "tool_use");
}

int anth_on_extra(struct anth_render *r, const struct aigw_chunk *c, struct gw_buf *out)
{
    const cJSON *x = c->extra;
    int rc = 0;
    if (!c->name.ptr || !x)
        return 0;
    if (name_is(c, GW_ANTH_EXTRA_STOP)) {
        free(r->stop_reason);
        free(r->stop_sequence);
        r->stop_reason = dup_str(x, "stop_reason");
        r->stop_sequence = dup_str(x, "stop_sequence");
    } else if (name_is(c, GW_ANTH_EXTRA_BLOCK) && raw_block_ok(x)) {
        if (!(rc = anth_flush_tools(r, out)) && !(rc = anth_ev_open(r, out, ANTH_B_RAW, x)))
            rc = anth_ev_close(r, out);
    } else if (name_is(c, GW_ANTH_EXTRA_BLOCK_START)) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(x, "content_block");
        if (raw_block_ok(b) && !(rc = anth_flush_tools(r, out)))
            rc = anth_ev_open(r, out, ANTH_B_RAW, b);
    } else if (name_is(c, GW_ANTH_EXTRA_BLOCK_DELTA)) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(x, "delta");
        const char *dt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d, "type"));
        int text_open = r->open == ANTH_B_TEXT || (r->open == ANTH_B_RAW && r->raw_text);
        if (!dt)
            return 0;
        if (!strcmp(dt, "citations_delta")) {
            if (!text_open) /* a citation belongs to a text block: its own, if need be */
                rc = anth_open_simple(r, out, ANTH_B_TEXT);
        } else if (r->open != ANTH_B_RAW || r->raw_text) {
            return 0; /* anything else only extends a block the plugin opened itself */
        }
        if (!rc)
            rc = anth_ev_delta(r, out, NULL, NULL, NULL, 0, d);
    } else if (name_is(c, GW_ANTH_EXTRA_BLOCK_STOP)) {
        rc = anth_close_open(r, out);
        if (!rc && anth_first_pending(r) >= 0)
            rc = anth_pump(r, out);
    }
    return rc;
}
