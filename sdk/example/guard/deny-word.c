/*
 * deny-word - an example aigw guard plugin: it refuses any request whose messages contain a
 * configured word (ASCII letters compared without regard to case). Built out of tree with
 * nothing but pkg-config (see the Makefile) and walked through in aigw-plugin(3).
 *
 * Config:  {"name": "deny-word", "config": {"word": "forbidden"}}
 *
 * Threading: the instance is read-only after create(); hooks keep no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aigw/plugin.h>

struct deny_word {
    char word[64];
};

/* What aigw checks the entry's config against before create() sees it. */
static const char schema[] = "{\"type\":\"object\",\"additionalProperties\":false,"
                             "\"required\":[\"word\"],\"properties\":{\"word\":"
                             "{\"type\":\"string\",\"minLength\":1,\"maxLength\":63}}}";

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int contains(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (; *text; text++) {
        size_t k = 0;
        while (k < n && text[k] && lower((unsigned char)text[k]) == lower((unsigned char)word[k]))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

static int create(const struct aigw_guard_host *host, const cJSON *config, void **instance,
                  char *err, size_t errsize)
{
    const cJSON *word = cJSON_GetObjectItemCaseSensitive(config, "word");
    struct deny_word *d;
    (void)host;
    (void)err;
    (void)errsize;
    if (!(d = calloc(1, sizeof *d)))
        return AIGW_ENOMEM;
    snprintf(d->word, sizeof d->word, "%s", word->valuestring); /* the schema bounds it */
    *instance = d;
    return 0;
}

static void destroy(void *instance)
{
    free(instance);
}

/* The request is OpenAI chat-shaped: messages[].content is a string or a list of parts. */
static int on_request(struct aigw_guard_ctx *g, cJSON *request)
{
    const struct deny_word *d = g->instance;
    const cJSON *msg, *part;
    int i = 0;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(request, "messages"))
    {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (cJSON_IsString(content) && contains(content->valuestring, d->word))
            return g->host->deny(g, "message %d uses a word this gateway refuses", i);
        cJSON_ArrayForEach(part, content)
        {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
            if (cJSON_IsString(text) && contains(text->valuestring, d->word))
                return g->host->deny(g, "message %d uses a word this gateway refuses", i);
        }
        i++;
    }
    return AIGW_GUARD_ALLOW;
}

static const struct aigw_guard guard = {
    AIGW_ABI_VERSION,
    sizeof(struct aigw_guard),
    "deny-word",                        /* name: the config's "name" and the file name */
    "1.0.0",                            /* version */
    "refuses requests that use a word", /* description */
    schema,                             /* config_schema */
    AIGW_GUARD_INPUT,                   /* stages */
    0,                                  /* state_size */
    0,                                  /* window: no answer hooks */
    create,
    destroy,
    on_request,
    NULL, /* on_answer_delta */
    NULL, /* on_answer_final */
    NULL, /* on_error */
    NULL, /* instance_stages (1.5): it runs at every stage in stages */
};

AIGW_EXPORT const struct aigw_guard *aigw_guard_entry(void)
{
    return &guard;
}
