/* dialect - what every dialect shares (see dialect.h). */
#include "front/dialect.h"

#include <string.h>

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
