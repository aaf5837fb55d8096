/*
 * replicate_prompt.c - OpenAI chat request -> prediction input (notes B §11).
 *
 * Replicate language models take a prompt, not a message list, so the history is rendered:
 *
 *   - system / developer messages are joined with a blank line and sent as input.system_prompt
 *     (Llama, Mistral and most instruct models on Replicate take one);
 *   - a single user turn is sent as input.prompt unchanged, so the model's own chat template
 *     wraps it exactly as a direct call would;
 *   - several turns on a Llama 3 model ("llama-3" in the id) are rendered with the Llama 3
 *     chat template, system message included, and input.prompt_template is "{prompt}" so the
 *     server does not wrap the prompt again (system_prompt is then not sent);
 *   - several turns on any other model become a plain transcript in input.prompt:
 *         "User: ...\n\nAssistant: ...\n\nTool result: ...\n\nAssistant:"
 *     (the trailing cue is left out when the last turn is the assistant's own).
 *
 * Parameters: max_completion_tokens / max_tokens -> max_tokens (max_new_tokens on Llama 2),
 * temperature, top_p, seed, presence_penalty and frequency_penalty pass by name; stop ->
 * stop_sequences joined with ','. Tools, response_format, n and logprobs have no equivalent
 * and are dropped; image parts are refused (these models read text only).
 */
#include <stdlib.h>
#include <string.h>

#include "replicate.h"

#define PROMPT_CAP (4u << 20)

struct sbuf {
    char *p;
    size_t len, size;
    int err;
};

static void put(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->err)
        return;
    if (n > PROMPT_CAP - b->len) {
        b->err = AIGW_ETOOBIG;
        return;
    }
    if (b->len + n + 1 > b->size) {
        size_t size = b->size ? b->size : 1024;
        while (size < b->len + n + 1)
            size *= 2;
        char *p = realloc(b->p, size);
        if (!p) {
            b->err = AIGW_ENOMEM;
            return;
        }
        b->p = p;
        b->size = size;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* Text of a message's content: a string, or the text parts of an array. */
static int text_of(struct aigw_call *call, const cJSON *content, struct sbuf *out)
{
    if (cJSON_IsString(content)) {
        put(out, content->valuestring);
        return 0;
    }
    const cJSON *part;
    cJSON_ArrayForEach(part, content)
    {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "text"))
            return replicate_reject(call, AIGW_ENOTSUP,
                                    "Replicate language models take text content only");
        if (cJSON_IsString(text))
            put(out, text->valuestring);
    }
    return 0;
}

static int is_role(const cJSON *msg, const char *role)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "role");
    return cJSON_IsString(r) && !strcmp(r->valuestring, role);
}

static int is_system(const cJSON *msg)
{
    return is_role(msg, "system") || is_role(msg, "developer");
}

static int render(struct aigw_call *call, const cJSON *msgs, int llama3, struct sbuf *system,
                  struct sbuf *prompt)
{
    const cJSON *msg, *last = NULL;
    int turns = 0, rc;

    cJSON_ArrayForEach(msg, msgs)
    {
        if (is_system(msg)) {
            if (system->len)
                put(system, "\n\n");
            if ((rc = text_of(call, cJSON_GetObjectItemCaseSensitive(msg, "content"), system)))
                return rc;
        } else {
            turns++;
            last = msg;
        }
    }
    if (!last)
        return replicate_reject(call, AIGW_EINVAL, "no user message");
    if (turns == 1 && is_role(last, "user"))
        return text_of(call, cJSON_GetObjectItemCaseSensitive(last, "content"), prompt);

    if (llama3) {
        put(prompt, "<|begin_of_text|>");
        if (system->len) {
            put(prompt, "<|start_header_id|>system<|end_header_id|>\n\n");
            put(prompt, system->p);
            put(prompt, "<|eot_id|>");
        }
    }
    cJSON_ArrayForEach(msg, msgs)
    {
        if (is_system(msg))
            continue;
        int assistant = is_role(msg, "assistant"), tool = is_role(msg, "tool");
        if (llama3)
            put(prompt, assistant ? "<|start_header_id|>assistant<|end_header_id|>\n\n"
                                  : "<|start_header_id|>user<|end_header_id|>\n\n");
        if (tool || !llama3)
            put(prompt, assistant ? "Assistant: " : tool ? "Tool result: " : "User: ");
        if ((rc = text_of(call, cJSON_GetObjectItemCaseSensitive(msg, "content"), prompt)))
            return rc;
        put(prompt, llama3 ? "<|eot_id|>" : "\n\n");
    }
    if (!is_role(last, "assistant"))
        put(prompt, llama3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "Assistant:");
    else if (!llama3 && prompt->len >= 2)
        prompt->p[prompt->len -= 2] = '\0'; /* the assistant's turn continues */
    return 0;
}

static int add_number(cJSON *input, const cJSON *body, const char *from, const char *to)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, from);
    if (!cJSON_IsNumber(v))
        return 0;
    return cJSON_AddNumberToObject(input, to, v->valuedouble) ? 0 : AIGW_ENOMEM;
}

static int add_params(struct aigw_call *call, cJSON *input)
{
    struct replicate_state *st = call->state;
    const cJSON *b = call->body;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(b, "max_completion_tokens");
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(b, "stop");
    int rc;

    if (!cJSON_IsNumber(mt))
        mt = cJSON_GetObjectItemCaseSensitive(b, "max_tokens");
    if (cJSON_IsNumber(mt)) {
        if (mt->valuedouble < 1 || mt->valuedouble > 1e9)
            return replicate_reject(call, AIGW_EINVAL, "max_tokens must be a positive integer");
        st->max_tokens = (int64_t)mt->valuedouble;
        const char *key = strstr(call->model, "llama-2") ? "max_new_tokens" : "max_tokens";
        if (!cJSON_AddNumberToObject(input, key, (double)st->max_tokens))
            return AIGW_ENOMEM;
    }
    if ((rc = add_number(input, b, "temperature", "temperature")) ||
        (rc = add_number(input, b, "top_p", "top_p")) ||
        (rc = add_number(input, b, "seed", "seed")) ||
        (rc = add_number(input, b, "presence_penalty", "presence_penalty")) ||
        (rc = add_number(input, b, "frequency_penalty", "frequency_penalty")))
        return rc;

    if (cJSON_IsString(stop))
        return cJSON_AddStringToObject(input, "stop_sequences", stop->valuestring) ? 0
                                                                                   : AIGW_ENOMEM;
    if (cJSON_IsArray(stop) && cJSON_GetArraySize(stop) > 0) {
        struct sbuf s = {0};
        const cJSON *x;
        cJSON_ArrayForEach(x, stop)
        {
            if (!cJSON_IsString(x))
                continue;
            if (s.len)
                put(&s, ",");
            put(&s, x->valuestring);
        }
        rc = s.err                                                              ? s.err
             : cJSON_AddStringToObject(input, "stop_sequences", s.p ? s.p : "") ? 0
                                                                                : AIGW_ENOMEM;
        free(s.p);
        return rc;
    }
    return 0;
}

int replicate_chat_input(struct aigw_call *call, cJSON **out)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(call->body, "messages");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(call->body, "n");
    struct sbuf system = {0}, prompt = {0};
    int llama3 = strstr(call->model, "llama-3") != NULL;
    cJSON *input = NULL;
    int rc;

    if (!cJSON_IsArray(msgs))
        return replicate_reject(call, AIGW_EINVAL, "messages must be an array");
    if (cJSON_IsNumber(n) && n->valuedouble > 1)
        return replicate_reject(call, AIGW_ENOTSUP, "a prediction returns one choice (n = 1)");
    if ((rc = render(call, msgs, llama3, &system, &prompt)) != 0)
        goto done;
    if ((rc = system.err ? system.err : prompt.err) != 0)
        goto done;
    rc = AIGW_ENOMEM;
    input = cJSON_CreateObject();
    if (!input || !cJSON_AddStringToObject(input, "prompt", prompt.p ? prompt.p : ""))
        goto done;
    /* With the Llama 3 template rendered here, the system message is already in the prompt. */
    int templated = llama3 && strstr(prompt.p ? prompt.p : "", "<|begin_of_text|>");
    if (templated && !cJSON_AddStringToObject(input, "prompt_template", "{prompt}"))
        goto done;
    if (!templated && system.len && !cJSON_AddStringToObject(input, "system_prompt", system.p))
        goto done;
    if ((rc = add_params(call, input)) != 0)
        goto done;
    *out = input;
    input = NULL;
done:
    cJSON_Delete(input);
    free(system.p);
    free(prompt.p);
    return rc;
}
