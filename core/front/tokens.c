/*
 * tokens - input-token estimates (see tokens.h), shared by the Anthropic and Responses
 * dialects. English prose and code run 3.5-4.5 characters a token in the common tokenizers,
 * other scripts about one character a token; images and PDFs are priced by Anthropic's
 * published rules of thumb (~1,600 tokens for a full-size image, 1,500-3,000 a PDF page).
 */
#include "front/tokens.h"

#include <string.h>

#define PER_MESSAGE 3
#define PER_TOOL 3
#define PER_IMAGE 1600
#define PDF_B64_BYTES_PER_TOKEN 12
#define NESTING_MAX 32 /* deeper JSON is counted as printed text no further than this */

static int64_t text_tokens(const char *s)
{
    int64_t ascii = 0, other = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80)
            ascii++;
        else if ((*p & 0xc0) != 0x80) /* a lead byte: one character */
            other++;
    }
    return (ascii + 3) / 4 + other;
}

/* Any JSON value counted as the text a tokenizer would see: strings by content, keys and
 * numbers as their text, structure at a token per member. */
static int64_t json_tokens(const cJSON *v, int depth)
{
    int64_t n = 0;
    const cJSON *c;
    if (depth > NESTING_MAX)
        return 1;
    if (cJSON_IsString(v))
        return text_tokens(v->valuestring);
    if (cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsNull(v))
        return 1;
    cJSON_ArrayForEach(c, v)
    {
        if (c->string)
            n += text_tokens(c->string);
        n += 1 + json_tokens(c, depth + 1);
    }
    return n;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t blocks_tokens(const cJSON *content, int depth);

static int64_t block_tokens(const cJSON *b, int depth)
{
    const char *type = str(b, "type");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(b, "source");
    if (!type)
        return 0;
    if (!strcmp(type, "text"))
        return text_tokens(str(b, "text") ? str(b, "text") : "");
    if (!strcmp(type, "image"))
        return PER_IMAGE;
    if (!strcmp(type, "document")) {
        const char *st = str(src, "type"), *data = str(src, "data");
        int64_t t = str(b, "title") ? text_tokens(str(b, "title")) : 0;
        if (st && !strcmp(st, "base64") && data)
            return t + (int64_t)(strlen(data) / PDF_B64_BYTES_PER_TOKEN) + 1;
        if (st && !strcmp(st, "text") && data)
            return t + text_tokens(data);
        if (st && !strcmp(st, "content"))
            return t + blocks_tokens(cJSON_GetObjectItemCaseSensitive(src, "content"), depth + 1);
        return t + PER_IMAGE;
    }
    if (!strcmp(type, "tool_use") || !strcmp(type, "server_tool_use"))
        return PER_TOOL + text_tokens(str(b, "name") ? str(b, "name") : "") +
               json_tokens(cJSON_GetObjectItemCaseSensitive(b, "input"), 0);
    if (!strcmp(type, "tool_result") || !strcmp(type, "search_result") ||
        strstr(type, "_tool_result"))
        return PER_TOOL + blocks_tokens(cJSON_GetObjectItemCaseSensitive(b, "content"), depth + 1);
    if (!strcmp(type, "thinking"))
        return text_tokens(str(b, "thinking") ? str(b, "thinking") : "");
    if (!strcmp(type, "redacted_thinking"))
        return (int64_t)(strlen(str(b, "data") ? str(b, "data") : "") / 4);
    return json_tokens(b, 0);
}

static int64_t blocks_tokens(const cJSON *content, int depth)
{
    int64_t n = 0;
    const cJSON *b;
    if (depth > NESTING_MAX)
        return 0;
    if (cJSON_IsString(content))
        return text_tokens(content->valuestring);
    cJSON_ArrayForEach(b, (cJSON_IsArray(content) ? content : NULL)) n += block_tokens(b, depth);
    return n;
}

int64_t gw_tokens_anthropic(const cJSON *body)
{
    int64_t n = 1;
    const cJSON *m, *t;
    n += blocks_tokens(cJSON_GetObjectItemCaseSensitive(body, "system"), 0);
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body, "messages")) n +=
        PER_MESSAGE + blocks_tokens(cJSON_GetObjectItemCaseSensitive(m, "content"), 0);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(body, "tools")) n +=
        PER_TOOL + json_tokens(t, 0);
    return n;
}

/* ---- the internal (chat-shaped) request ------------------------------------------------- */

/* A content part of a chat message: text, image_url, input_audio or file. */
static int64_t part_tokens(const cJSON *p)
{
    const char *type = str(p, "type");
    if (!type)
        return json_tokens(p, 0);
    if (!strcmp(type, "text"))
        return text_tokens(str(p, "text") ? str(p, "text") : "");
    if (!strcmp(type, "image_url"))
        return PER_IMAGE;
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(p, "file");
    const char *data = str(file, "file_data");
    if (!strcmp(type, "file"))
        return data ? (int64_t)(strlen(data) / PDF_B64_BYTES_PER_TOKEN) + 1 : PER_IMAGE;
    const cJSON *audio = cJSON_GetObjectItemCaseSensitive(p, "input_audio");
    if (!strcmp(type, "input_audio")) /* base64 audio, priced as dense as a PDF's */
        return str(audio, "data") ? (int64_t)(strlen(str(audio, "data")) / PDF_B64_BYTES_PER_TOKEN)
                                  : PER_IMAGE;
    return json_tokens(p, 0);
}

static int64_t chat_message_tokens(const cJSON *m)
{
    int64_t n = PER_MESSAGE;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content"), *c;
    if (cJSON_IsString(content))
        n += text_tokens(content->valuestring);
    cJSON_ArrayForEach(c, (cJSON_IsArray(content) ? content : NULL)) n += part_tokens(c);
    const char *r = str(m, "reasoning_content");
    if (r)
        n += text_tokens(r);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m, "tool_calls"))
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(c, "function");
        n += PER_TOOL + text_tokens(str(fn, "name") ? str(fn, "name") : "") +
             text_tokens(str(fn, "arguments") ? str(fn, "arguments") : "");
    }
    return n;
}

int64_t gw_tokens_chat(const cJSON *body)
{
    int64_t n = 1;
    const cJSON *m, *t;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(body, "messages")) n +=
        chat_message_tokens(m);
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(body, "tools")) n +=
        PER_TOOL + json_tokens(t, 0);
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(body, "response_format");
    if (rf) /* a schema is sent to the model as part of its prompt */
        n += json_tokens(rf, 0);
    return n;
}
