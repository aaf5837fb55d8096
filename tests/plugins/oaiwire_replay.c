/*
 * oaiwire_replay - the conformance part of oaiwire_checks.h: every real recording under
 * $AIGW_SHARED_FIXTURES/<folder> fed through the plugin, the client output checked against
 * an oracle computed from the recording itself (text, reasoning, tool calls, finish, usage,
 * error status). The recordings are read in place, never copied into the repository.
 */
#include "plugins/oaiwire_checks.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <criterion/logging.h>

/* A replay of the shared recordings of one provider ("conformance"). */
struct oc_replay {
    const char *vkey;
    const char *folder; /* under $AIGW_SHARED_FIXTURES */
    const char *model;
    int jsonl_done;       /* *.chunks.jsonl: the provider ends streams with [DONE] */
    int reasoning_out;    /* xAI: completion_tokens excludes reasoning (counted back in) */
    int images;           /* the plugin makes images (else image recordings are skipped) */
    int status_map[4][2]; /* {upstream, client} error statuses that differ; 0-terminated */
};

/* What a recording says the client should see. */
struct oracle {
    char text[65536], reasoning[65536];
    char finish[64];
    int tools, has_usage;
    long long prompt, completion, reasoning_tokens, total;
};

static void cat(char *dst, size_t size, const char *s)
{
    size_t n = strlen(dst);
    if (s)
        snprintf(dst + n, size - n, "%s", s);
}

static long long num_or(const cJSON *o, const char *key, long long dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

/* A message or delta: content (string, or Mistral parts), reasoning, tool calls. */
static void take_message(struct oracle *o, const cJSON *m)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content"), *p, *t;
    const cJSON *parts = cJSON_IsArray(content) ? content : NULL;
    const char *r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "reasoning_content"));
    if (!r || !*r)
        r = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "reasoning"));
    cat(o->reasoning, sizeof o->reasoning, r);
    if (cJSON_IsString(content))
        cat(o->text, sizeof o->text, content->valuestring);
    cJSON_ArrayForEach(p, parts)
    {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "type"));
        if (type && strcmp(type, "thinking") == 0) {
            cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(p, "thinking"))
            {
                cat(o->reasoning, sizeof o->reasoning,
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "text")));
            }
        } else {
            cat(o->text, sizeof o->text,
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "text")));
        }
    }
    o->tools += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, "tool_calls"));
}

static void take_doc(struct oracle *o, const cJSON *doc, const char *part)
{
    const cJSON *ch, *u = cJSON_GetObjectItemCaseSensitive(doc, "usage");
    cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(doc, "choices"))
    {
        const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ch, "finish_reason"));
        if (num_or(ch, "index", 0) != 0)
            continue;
        take_message(o, cJSON_GetObjectItemCaseSensitive(ch, part));
        if (f)
            snprintf(o->finish, sizeof o->finish, "%s", f);
    }
    if (!cJSON_IsObject(u))
        u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "x_groq"),
                                             "usage");
    if (cJSON_IsObject(u)) {
        o->has_usage = 1;
        o->prompt = num_or(u, "prompt_tokens", -1);
        o->completion = num_or(u, "completion_tokens", -1);
        o->total = num_or(u, "total_tokens", -1);
        o->reasoning_tokens =
            num_or(cJSON_GetObjectItemCaseSensitive(u, "completion_tokens_details"),
                   "reasoning_tokens", 0);
    }
}

/* The finish a client sees for an upstream reason (the host's table, in short). */
static const char *client_finish(const struct oracle *o)
{
    const char *f = o->finish;
    if (!strcmp(f, "length") || !strcmp(f, "model_length"))
        return "length";
    if (!strcmp(f, "content_filter"))
        return "content_filter";
    return o->tools ? "tool_calls" : "stop";
}

static void usage_matches(const struct oc_replay *r, const struct oracle *o, const cJSON *u)
{
    long long completion = o->completion;
    if (!o->has_usage)
        return;
    if (r->reasoning_out && o->reasoning_tokens > 0 &&
        o->prompt + o->completion + o->reasoning_tokens == o->total)
        completion += o->reasoning_tokens;
    cr_assert_not_null(u, "the recording has usage, the client got none");
    cr_assert_eq(oc_num(u, "prompt_tokens"), o->prompt);
    cr_assert_eq(oc_num(u, "completion_tokens"), completion);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = malloc((size_t)n + 1);
    cr_assert_not_null(s);
    *len = fread(s, 1, (size_t)n, f);
    s[*len] = '\0';
    fclose(f);
    return s;
}

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* Calls fn for each non-empty line of data[0..len). */
static void each_line(const char *data, size_t len, void (*fn)(void *, const char *, size_t),
                      void *ud)
{
    const char *p = data, *end = data + len, *nl;
    for (; p < end; p = nl + 1) {
        if (!(nl = memchr(p, '\n', (size_t)(end - p))))
            nl = end;
        if (nl > p)
            fn(ud, p, (size_t)(nl - p));
    }
}

struct sse_out {
    char *body;
    size_t cap, off;
};

/* *.chunks.jsonl holds one data payload a line, SSE framing stripped: put it back. */
static void frame_line(void *ud, const char *line, size_t n)
{
    struct sse_out *o = ud;
    o->off += (size_t)snprintf(o->body + o->off, o->cap - o->off, "data: %.*s\n\n", (int)n, line);
}

/* The oracle reads the recording's data lines itself. */
static void oracle_line(void *ud, const char *line, size_t n)
{
    cJSON *doc;
    size_t skip;
    if (n < 5 || strncmp(line, "data:", 5) != 0)
        return;
    skip = 5 + (n > 5 && line[5] == ' ');
    doc = cJSON_ParseWithLength(line + skip, n - skip);
    take_doc(ud, doc, "delta");
    cJSON_Delete(doc);
}

static void replay_stream(const struct oc_replay *r, const char *name, const char *data, size_t len)
{
    struct oracle *o = calloc(1, sizeof *o);
    struct sse_out sse = {NULL, len * 2 + 64, 0};
    struct ph_call *c;

    cr_assert_not_null(o);
    if (ends_with(name, ".jsonl")) {
        sse.body = malloc(sse.cap);
        cr_assert_not_null(sse.body);
        each_line(data, len, frame_line, &sse);
        if (r->jsonl_done)
            sse.off += (size_t)snprintf(sse.body + sse.off, sse.cap - sse.off, "data: [DONE]\n\n");
        data = sse.body;
        len = sse.off;
    }
    each_line(data, len, oracle_line, o);
    c = oc_stream_body(r->vkey, r->model, 1, data, len);
    cr_assert_str_eq(ph_stream_text(c), o->text, "%s: text", name);
    cr_assert_str_eq(ph_stream_reasoning(c), o->reasoning, "%s: reasoning", name);
    if (o->tools)
        cr_assert_not_null(ph_stream_tool_name(c, 0), "%s: tool call lost", name);
    if (!*o->finish && !strstr(data, "[DONE]")) {
        oc_stream_end_cut(c); /* an excerpt: the recording stops before the stream's end */
    } else {
        oc_stream_end_is(c, client_finish(o));
        usage_matches(r, o, ph_usage(c));
    }
    ph_free(c);
    free(sse.body);
    free(o);
}

static void replay_chat(const struct oc_replay *r, const char *name, const char *data, size_t len)
{
    struct oracle *o = calloc(1, sizeof *o);
    cJSON *doc = cJSON_ParseWithLength(data, len);
    const cJSON *ch, *msg;
    struct ph_call *c;

    cr_assert_not_null(o);
    take_doc(o, doc, "message");
    cJSON_Delete(doc);
    c = oc_begin_chat(r->vkey, r->model, 0);
    cr_assert_eq(ph_respond(c, 200, OC_JSON, data, len, 0), 0, "%s: %s", name, ph_output(c));
    cr_assert_eq(ph_client_status(c), 200, "%s: %s", name, ph_output(c));
    ch = cJSON_GetArrayItem(oc_get(ph_output_json(c), "choices"), 0);
    msg = oc_get(ch, "message");
    if (*o->text)
        cr_assert_str_eq(oc_str(msg, "content"), o->text, "%s: content", name);
    if (*o->reasoning)
        cr_assert_str_eq(oc_str(msg, "reasoning_content"), o->reasoning, "%s", name);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(msg, "tool_calls")), o->tools,
                 "%s: tool calls", name);
    cr_assert_str_eq(oc_str(ch, "finish_reason"), client_finish(o), "%s: finish", name);
    usage_matches(r, o, cJSON_GetObjectItemCaseSensitive(ph_output_json(c), "usage"));
    oc_no_secret(c);
    ph_free(c);
    free(o);
}

/* Embeddings and images: as many items as the recording, first values equal. */
static void replay_items(const struct oc_replay *r, const char *name, const char *data, size_t len,
                         int op)
{
    cJSON *doc = cJSON_ParseWithLength(data, len), *req = cJSON_CreateObject();
    const cJSON *items =
        cJSON_GetObjectItemCaseSensitive(doc, op == AIGW_OP_IMAGES ? "base64" : "data");
    const cJSON *first;
    int n = cJSON_GetArraySize(items), i;
    struct ph_call *c;
    char *json;

    cr_assert_gt(n, 0, "%s: nothing to compare", name);
    cJSON_AddStringToObject(req, "model", r->model);
    if (op == AIGW_OP_IMAGES) {
        cJSON_AddStringToObject(req, "prompt", "a red kite");
        cJSON_AddNumberToObject(req, "n", n);
        cJSON_AddStringToObject(req, "response_format", "b64_json");
    } else {
        cJSON *in = cJSON_AddArrayToObject(req, "input");
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(in, cJSON_CreateString("some text"));
    }
    json = cJSON_PrintUnformatted(req);
    c = ph_begin(r->vkey, op, json);
    cr_assert_eq(ph_respond(c, 200, OC_JSON, data, len, 0), 0, "%s: %s", name, ph_output(c));
    cr_assert_eq(cJSON_GetArraySize(oc_get(ph_output_json(c), "data")), n, "%s", name);
    first = cJSON_GetArrayItem(oc_get(ph_output_json(c), "data"), 0);
    if (op == AIGW_OP_IMAGES)
        cr_assert_str_eq(oc_str(first, "b64_json"),
                         strchr(cJSON_GetArrayItem(items, 0)->valuestring, ',') + 1, "%s", name);
    else
        cr_assert_float_eq(
            cJSON_GetArrayItem(oc_get(first, "embedding"), 0)->valuedouble,
            cJSON_GetArrayItem(oc_get(cJSON_GetArrayItem(items, 0), "embedding"), 0)->valuedouble,
            1e-6, "%s", name);
    oc_no_secret(c);
    ph_free(c);
    free(json);
    cJSON_Delete(req);
    cJSON_Delete(doc);
}

/* The recorded status: the sibling .http.json, else the number in the name (error_402_…). */
static int recorded_status(const char *path, const char *name, char *headers, size_t size)
{
    char side[4096];
    size_t len;
    char *s;
    const char *p;
    int status = 0;

    headers[0] = '\0';
    cr_assert_lt((size_t)snprintf(side, sizeof side, "%s.http.json", path), sizeof side);
    if ((s = slurp(side, &len))) {
        cJSON *doc = cJSON_Parse(s), *resp = cJSON_GetObjectItemCaseSensitive(doc, "response");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(resp, "headers"), *v;
        status = (int)num_or(cJSON_GetObjectItemCaseSensitive(resp, "status"), "code", 0);
        cJSON_ArrayForEach(v, h)
        {
            if (!strcasecmp(v->string, "content-type") || !strcasecmp(v->string, "retry-after"))
                snprintf(headers + strlen(headers), size - strlen(headers), "%s: %s\r\n", v->string,
                         cJSON_GetStringValue(cJSON_GetArrayItem(v, 0)));
        }
        cJSON_Delete(doc);
        free(s);
    }
    for (p = name; !status && (p = strstr(p, "error_")); p += 6)
        status = (int)strtol(p + 6, NULL, 10);
    return status;
}

static void replay_error(const struct oc_replay *r, const char *path, const char *name,
                         const char *data, size_t len)
{
    char headers[512];
    int status = recorded_status(path, name, headers, sizeof headers), want;
    struct ph_call *c;
    const cJSON *err;

    cr_assert_geq(status, 400, "%s: no status known", name);
    want = status;
    for (int i = 0; r->status_map[i][0]; i++)
        if (r->status_map[i][0] == status)
            want = r->status_map[i][1];
    c = oc_begin_chat(r->vkey, r->model, 0);
    ph_respond(c, status, headers, data, len, 0);
    cr_assert_eq(ph_client_status(c), want, "%s: %s", name, ph_output(c));
    err = oc_get(ph_output_json(c), "error");
    cr_assert_gt(strlen(oc_str(err, "message")), 0, "%s", name);
    cr_assert_not_null(ph_error(c));
    oc_no_secret(c);
    ph_free(c);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_file(const struct oc_replay *r, const char *dir, const char *name)
{
    char path[4096];
    size_t len;
    char *data;

    if (!strncmp(name, "SOURCE", 6) || ends_with(name, ".http.json") ||
        !(ends_with(name, ".json") || ends_with(name, ".sse") || ends_with(name, ".jsonl")) ||
        (strstr(name, "image") && !r->images))
        return 0;
    cr_assert_lt((size_t)snprintf(path, sizeof path, "%s/%s", dir, name), sizeof path);
    data = slurp(path, &len);
    cr_assert_not_null(data, "cannot read %s", path);
    cr_log_info("replaying %s/%s", r->folder, name);
    if (strstr(name, "error"))
        replay_error(r, path, name, data, len);
    else if (ends_with(name, ".sse") || ends_with(name, ".jsonl"))
        replay_stream(r, name, data, len);
    else if (strstr(name, "image"))
        replay_items(r, name, data, len, AIGW_OP_IMAGES);
    else if (strstr(name, "embed"))
        replay_items(r, name, data, len, AIGW_OP_EMBEDDINGS);
    else
        replay_chat(r, name, data, len);
    free(data);
    return 1;
}

/* Replays every recording of the folder through the plugin and checks the client output
 * against what the recording itself says (text, tool calls, finish, usage, error status).
 * Skips the test when the folder is absent. Returns how many files were replayed. */
static int replay_folder(const struct oc_replay *r)
{
    const char *root = getenv("AIGW_SHARED_FIXTURES");
    char dir[4096], *names[256];
    struct dirent *e;
    size_t n = 0, i;
    int done = 0;
    DIR *d;

    cr_assert_lt((size_t)snprintf(dir, sizeof dir, "%s/%s", root ? root : "", r->folder),
                 sizeof dir);
    if (!root || !(d = opendir(dir))) {
        cr_skip_test("shared fixtures absent");
        return 0;
    }
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    for (i = 0; i < n; i++) {
        done += replay_file(r, dir, names[i]);
        free(names[i]);
    }
    return done;
}

void oc_expect_conformance(const char *vkey)
{
    cJSON *doc = oc_expectations(vkey);
    const cJSON *k = oc_get(doc, "conformance"), *m;
    struct oc_replay r = {.vkey = vkey};
    char folder[128], model[256];
    int i = 0;

    /* Copied out: the replay may skip the test, and a skip must not leak. */
    snprintf(folder, sizeof folder, "%s", oc_str(k, "folder"));
    snprintf(model, sizeof model, "%s", oc_str(k, "model"));
    r.folder = folder;
    r.model = model;
    r.jsonl_done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "jsonl_done"));
    r.reasoning_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "reasoning_out"));
    r.images = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(k, "images"));
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(k, "status_map"))
    {
        cr_assert_lt(i, 3);
        r.status_map[i][0] = (int)strtol(m->string, NULL, 10);
        r.status_map[i++][1] = m->valueint;
    }
    cJSON_Delete(doc);
    cr_assert_gt(replay_folder(&r), 0);
}
