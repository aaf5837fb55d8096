/* dialect - what every dialect shares (see dialect.h). */
#include "front/dialect.h"

#include <stdio.h>
#include <string.h>

#include "front/body.h"
#include "lib/buf.h"

void gw_parsed_free(struct gw_parsed *p)
{
    if (p->ctx && p->dialect && p->dialect->ctx_free)
        p->dialect->ctx_free(p->ctx);
    p->ctx = NULL;
    cJSON_Delete(p->body);
    p->body = NULL;
    cJSON_Delete(p->native);
    p->native = NULL;
    cJSON_Delete(p->native_only);
    p->native_only = NULL;
}

void gw_parsed_note_dropped(char *list, size_t size, const char *name)
{
    /* The name is the client's: it goes into a response header and a log line, so it is
     * reduced to a token (a comma would split the list, CR/LF would end the header), and an
     * empty one is named "unknown" rather than matching everywhere. */
    char tok[64];
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n + 1 < sizeof tok; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.' || c == ':';
        tok[n++] = ok ? (char)c : '_';
    }
    tok[n] = '\0';
    if (!n)
        n = gw_strlcpy(tok, "unknown", sizeof tok);
    size_t have = strnlen(list, size);
    for (size_t i = 0; i < have;) { /* named once */
        size_t end = i;
        while (end < have && list[end] != ',')
            end++;
        if (end - i == n && !memcmp(list + i, tok, n))
            return;
        i = end + 1;
    }
    if (have + (have ? 1 : 0) + n + 1 > size)
        return; /* the header is capped; the log line has the same list */
    if (have)
        list[have++] = ',';
    memcpy(list + have, tok, n + 1);
}

/* Adds the values of a string (or of the texts of a parts array) to *sum. */
static void embedded_add(const cJSON *v, size_t *sum)
{
    const cJSON *part;
    if (cJSON_IsString(v)) {
        *sum += gw_body_count_values(v->valuestring, strlen(v->valuestring), GW_BODY_MAX_VALUES);
        return;
    }
    cJSON_ArrayForEach(part, v)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            *sum +=
                gw_body_count_values(t->valuestring, strlen(t->valuestring), GW_BODY_MAX_VALUES);
    }
}

int gw_parsed_check_embedded(const struct gw_parsed *p, struct gw_front_err *err)
{
    /* The body's own values were counted before it was parsed; these are strings, whose
     * JSON the anthropic, gemini and bedrock plugins parse into trees of their own. */
    size_t sum = 0;
    const cJSON *m, *tc;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(p->body, "messages"))
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "tool"))
            embedded_add(cJSON_GetObjectItemCaseSensitive(m, "content"), &sum);
        cJSON_ArrayForEach(tc, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
        {
            const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
            embedded_add(cJSON_GetObjectItemCaseSensitive(fn, "arguments"), &sum);
        }
        if (sum > GW_BODY_MAX_VALUES)
            break;
    }
    if (sum <= GW_BODY_MAX_VALUES)
        return 0;
    memset(err, 0, sizeof *err);
    err->status = 400;
    err->code = "too_many_values";
    err->param = "messages";
    snprintf(err->message, sizeof err->message,
             "the request's tool calls and tool results hold more than %d JSON values; send "
             "less (or split the request)",
             GW_BODY_MAX_VALUES);
    return AIGW_EINVAL;
}
