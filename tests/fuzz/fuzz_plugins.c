/*
 * fuzz_plugins - every provider plugin's response parsers (parse_response, stream_event,
 * map_error, and the framing in front of them) fed mutated upstream answers through the real
 * loader, exchange and renderer (tests/plugins/harness.h). Seeds are each plugin's own
 * fixtures in tests/fixtures/<vkey>/; mutations are deterministic (xorshift), so a failure
 * reproduces. Whatever the bytes, the client must get a well-formed answer: a JSON document
 * (an OpenAI error when the status is not 200), or an SSE stream whose every event is JSON
 * and that ends with [DONE]; and the key never appears. ASan/UBSan catch the rest.
 *
 * AIGW_FUZZ_PLUGIN_ROUNDS sets the mutations per seed (default 25).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugins/harness.h"

#define CANARY "sk-FUZZ-CANARY-7781"
#define MAX_SEEDS 48
#define MAX_SEED_LEN 65536
#define MAX_ENV 8

struct prov {
    const char *vkey;
    const char *env[MAX_ENV]; /* name, value, name, value, ..., NULL */
    const char *model;
    const char *embed_model; /* NULL: no embeddings */
};

static const struct prov provs[] = {
    {"openai", {"OPENAI_API_KEY", CANARY, "OPENAI_BASE_URL", "http://fuzz.invalid/v1"},
     "gpt-4o-mini", "text-embedding-3-small"},
    {"azure-openai",
     {"AZURE_OPENAI_API_KEY", CANARY, "AZURE_OPENAI_ENDPOINT", "http://fuzz.invalid",
      "AZURE_OPENAI_DEPLOYMENT", "dep"},
     "gpt-4o", "text-embedding-3-small"},
    {"azure-foundry",
     {"AZURE_FOUNDRY_API_KEY", CANARY, "AZURE_FOUNDRY_ENDPOINT", "http://fuzz.invalid"},
     "Phi-4", NULL},
    {"mistral", {"MISTRAL_API_KEY", CANARY}, "mistral-small-latest", "mistral-embed"},
    {"groq", {"GROQ_API_KEY", CANARY}, "llama-3.3-70b-versatile", NULL},
    {"deepseek", {"DEEPSEEK_API_KEY", CANARY}, "deepseek-chat", NULL},
    {"together", {"TOGETHER_API_KEY", CANARY}, "meta-llama/Llama-3.3-70B-Instruct-Turbo", NULL},
    {"perplexity", {"PERPLEXITY_API_KEY", CANARY}, "sonar", NULL},
    {"fireworks", {"FIREWORKS_API_KEY", CANARY}, "accounts/fireworks/models/llama-v3p1-8b", NULL},
    {"ai21", {"AI21_API_KEY", CANARY}, "jamba-mini", NULL},
    {"xai", {"XAI_API_KEY", CANARY}, "grok-3-mini", NULL},
    {"hugging-face", {"HUGGING_FACE_API_KEY", CANARY}, "meta-llama/Llama-3.1-8B-Instruct",
     "sentence-transformers/all-MiniLM-L6-v2"},
    {"anthropic", {"ANTHROPIC_API_KEY", CANARY}, "claude-sonnet-4-5", NULL},
    {"gemini", {"GEMINI_API_KEY", CANARY}, "gemini-2.5-flash", NULL},
    {"vertex-ai",
     {"VERTEX_AI_PROJECT_ID", "p", "VERTEX_AI_REGION", "us-central1", "VERTEX_AI_ACCESS_TOKEN",
      CANARY},
     "gemini-2.5-flash", NULL},
    {"cohere", {"COHERE_API_KEY", CANARY}, "command-a-03-2025", "embed-english-v3.0"},
    {"ollama", {"OLLAMA_HOST", "fuzz.invalid:11434", "OLLAMA_API_KEY", CANARY}, "llama3.2",
     NULL},
    {"bedrock",
     {"AWS_REGION", "us-east-1", "AWS_ACCESS_KEY_ID", "AKIDFUZZ0001", "AWS_SECRET_ACCESS_KEY",
      CANARY},
     "meta.llama3-8b-instruct-v1", NULL},
    {"replicate", {"REPLICATE_API_TOKEN", CANARY}, "meta/meta-llama-3-8b-instruct", NULL},
};

static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

struct seeds {
    char *body[MAX_SEEDS];
    size_t len[MAX_SEEDS];
    char name[MAX_SEEDS][64];
    int n;
};

static void load_seeds(const char *vkey, struct seeds *s)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    cr_assert_not_null(src, "AIGW_TEST_SRCDIR is not set (run through make check)");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/%s", src, vkey);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "no fixtures in %s", dir);
    memset(s, 0, sizeof *s);
    struct dirent *de;
    while ((de = readdir(d)) && s->n < MAX_SEEDS) {
        const char *nm = de->d_name;
        if (nm[0] == '.' || strstr(nm, ".md") || strstr(nm, "TEST_ONLY") ||
            strncmp(nm, "request", 7) == 0 || strncmp(nm, "expect", 6) == 0 ||
            strlen(nm) >= sizeof s->name[0])
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, nm);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        char *b = malloc(MAX_SEED_LEN);
        cr_assert_not_null(b);
        s->len[s->n] = fread(b, 1, MAX_SEED_LEN, f);
        fclose(f);
        s->body[s->n] = b;
        snprintf(s->name[s->n], sizeof s->name[0], "%s", nm);
        s->n++;
    }
    closedir(d);
    cr_assert_gt(s->n, 0, "no seed fixtures for %s", vkey);
}

static void free_seeds(struct seeds *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->body[i]);
}

/* A mutated copy of seed i (caller frees), in *len. */
static char *mutate(const struct seeds *s, int i, size_t *len)
{
    size_t n = s->len[i];
    char *p = malloc(2 * MAX_SEED_LEN + 64);
    cr_assert_not_null(p);
    memcpy(p, s->body[i], n);
    int edits = 1 + (int)(next() % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = n ? next() % n : 0;
        switch (next() % 6) {
        case 0: /* bit flip */
            if (n)
                p[at] ^= (char)(1u << (next() % 8));
            break;
        case 1: /* interesting byte */
            if (n) {
                static const char bytes[] = {'"', '\\', '{', '}', '[', ']', ',', ':', '\n',
                                             '\r', 0,    '0', '-', 'e', (char)0xff, (char)0xc3};
                p[at] = bytes[next() % sizeof bytes];
            }
            break;
        case 2: /* delete a run */
            if (n) {
                size_t k = 1 + next() % 16;
                if (k > n - at)
                    k = n - at;
                memmove(p + at, p + at + k, n - at - k);
                n -= k;
            }
            break;
        case 3: /* duplicate a run (bounded) */
            if (n && n < MAX_SEED_LEN) {
                size_t k = 1 + next() % 32;
                if (k > n - at)
                    k = n - at;
                memmove(p + at + k, p + at, n - at);
                n += k;
            }
            break;
        case 4: /* truncate */
            n = at;
            break;
        default: { /* splice the tail of another seed */
            int j = (int)(next() % (uint64_t)s->n);
            size_t from = s->len[j] ? next() % s->len[j] : 0;
            size_t k = s->len[j] - from;
            if (at + k > 2 * MAX_SEED_LEN)
                k = 2 * MAX_SEED_LEN - at;
            memcpy(p + at, s->body[j] + from, k);
            n = at + k;
            break;
        }
        }
    }
    *len = n;
    return p;
}

static int status_of(const char *name)
{
    const char *e = strstr(name, "error_");
    if (e && e[6] >= '1' && e[6] <= '5')
        return (int)strtol(e + 6, NULL, 10);
    static const int others[] = {200, 200, 200, 200, 400, 429, 500, 503};
    return others[next() % (sizeof others / sizeof others[0])];
}

static const char *headers_for(const char *name, int stream)
{
    if (strstr(name, ".eventstream"))
        return "Content-Type: application/vnd.amazon.eventstream\r\n";
    if (strstr(name, ".html"))
        return "Content-Type: text/html\r\n";
    if (strstr(name, ".ndjson"))
        return "Content-Type: application/x-ndjson\r\n";
    if (stream && strstr(name, ".sse"))
        return "Content-Type: text/event-stream\r\nRetry-After: 2\r\n";
    return "Content-Type: application/json\r\nRetry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n";
}

/* Every SSE event is `data: <JSON>` or `data: [DONE]`, and the last one is [DONE]. */
static void check_sse(const char *out, const char *what)
{
    size_t n = strlen(out);
    cr_assert(n >= 14 && strcmp(out + n - 14, "data: [DONE]\n\n") == 0,
              "%s: stream does not end with [DONE]: %s", what, out);
    const char *p = out;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        cr_assert_not_null(end, "%s: unterminated event", what);
        if (*p != ':') { /* comments (heartbeats) are allowed */
            cr_assert(strncmp(p, "data: ", 6) == 0, "%s: malformed event %.*s", what,
                      (int)(end - p), p);
            if (strncmp(p + 6, "[DONE]", 6) != 0) {
                cJSON *j = cJSON_ParseWithLength(p + 6, (size_t)(end - p - 6));
                cr_assert_not_null(j, "%s: event is not JSON: %.*s", what, (int)(end - p), p);
                cJSON_Delete(j);
            }
        }
        p = end + 2;
    }
}

static void check_output(struct ph_call *c, int stream, const char *what)
{
    int st = ph_client_status(c);
    const char *out = ph_output(c);
    cr_assert(st >= 200 && st <= 599, "%s: client status %d", what, st);
    cr_assert_not_null(out, "%s: no client output", what);
    cr_assert_null(strstr(out, CANARY), "%s: the key reached the client: %s", what, out);
    if (stream && st == 200) {
        check_sse(out, what);
        return;
    }
    cJSON *doc = cJSON_Parse(out);
    cr_assert_not_null(doc, "%s: status %d, body is not JSON: %s", what, st, out);
    if (st != 200) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
        cr_assert(cJSON_IsObject(e), "%s: status %d without an error object: %s", what, st, out);
        cr_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")),
                  "%s: error without a message: %s", what, out);
    }
    cJSON_Delete(doc);
}

/* Returns the client status, or 0 when the call never completed. */
static int one_call(const struct prov *pv, const struct seeds *s, int op, int stream, int seed,
                    long round)
{
    char req[512];
    if (op == AIGW_OP_EMBEDDINGS)
        snprintf(req, sizeof req, "{\"model\":\"%s\",\"input\":[\"a\",\"b\"]}", pv->embed_model);
    else
        snprintf(req, sizeof req,
                 "{\"model\":\"%s\",\"stream\":%s,\"stream_options\":{\"include_usage\":true},"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                 pv->model, stream ? "true" : "false");
    int rc = 0;
    struct ph_call *c = ph_begin_rc(pv->vkey, op, req, &rc);
    cr_assert_not_null(c, "%s: plugin not loaded", pv->vkey);
    cr_assert_eq(rc, 0, "%s: building the request failed (%d)", pv->vkey, rc);
    char what[256];
    /* A plugin may chain requests (Replicate's create, then poll or stream): answer each
     * with another mutated seed, a bounded number of times. */
    int i = seed;
    for (int hop = 0; hop < 4; hop++) {
        size_t len = 0;
        char *body = mutate(s, i, &len);
        size_t split = next() % 3 == 0 ? 0 : 1 + next() % 48;
        snprintf(what, sizeof what, "%s op %d stream %d seed %s round %ld hop %d split %zu",
                 pv->vkey, op, stream, s->name[i], round, hop, split);
        rc = ph_respond(c, status_of(s->name[i]), headers_for(s->name[i], stream), body, len,
                        split);
        free(body);
        if (rc != AIGW_CONTINUE)
            break;
        i = (int)(next() % (uint64_t)s->n);
    }
    if (rc == AIGW_CONTINUE) { /* still chaining after 4 answers: end it with a failure */
        rc = ph_respond(c, 500, NULL, "{}", 2, 0);
        if (rc == AIGW_CONTINUE) {
            ph_free(c);
            return 0;
        }
    }
    check_output(c, stream && op == AIGW_OP_CHAT, what);
    int st = ph_client_status(c);
    ph_free(c);
    return st;
}

static void fuzz_provider(const struct prov *pv)
{
    for (int i = 0; i + 1 < MAX_ENV && pv->env[i]; i += 2)
        ph_env(pv->env[i], pv->env[i + 1], NULL);
    struct seeds s;
    load_seeds(pv->vkey, &s);
    const char *r = getenv("AIGW_FUZZ_PLUGIN_ROUNDS");
    long rounds = r ? strtol(r, NULL, 10) : 25;
    rng = 0x2545f4914f6cdd1dull;
    for (const char *k = pv->vkey; *k; k++)
        rng = (rng ^ (uint64_t)(unsigned char)*k) * 0x100000001b3ull;
    int ok = 0, failed = 0;
    for (int seed = 0; seed < s.n; seed++) {
        for (long round = 0; round < rounds; round++) {
            int stream = (int)(next() % 2);
            int st = one_call(pv, &s, AIGW_OP_CHAT, stream, seed, round);
            ok += st == 200;
            failed += st > 200;
            if (pv->embed_model && strstr(s.name[seed], "embed"))
                one_call(pv, &s, AIGW_OP_EMBEDDINGS, 0, seed, round);
        }
    }
    free_seeds(&s);
    /* Mutations must reach both the success and the error paths, or the fuzzing is hollow. */
    cr_assert_gt(ok, 0, "%s: no mutated answer was accepted", pv->vkey);
    cr_assert_gt(failed, 0, "%s: no mutated answer was refused", pv->vkey);
}

#define FUZZ(name, idx)                                                                            \
    Test(fuzz_plugins, name)                                                                       \
    {                                                                                              \
        fuzz_provider(&provs[idx]);                                                                \
    }

FUZZ(openai, 0)
FUZZ(azure_openai, 1)
FUZZ(azure_foundry, 2)
FUZZ(mistral, 3)
FUZZ(groq, 4)
FUZZ(deepseek, 5)
FUZZ(together, 6)
FUZZ(perplexity, 7)
FUZZ(fireworks, 8)
FUZZ(ai21, 9)
FUZZ(xai, 10)
FUZZ(hugging_face, 11)
FUZZ(anthropic, 12)
FUZZ(gemini, 13)
FUZZ(vertex_ai, 14)
FUZZ(cohere, 15)
FUZZ(ollama, 16)
FUZZ(bedrock, 17)
FUZZ(replicate, 18)

/* The table above must name every plugin the build produces: a new provider without a fuzz
 * row fails here. */
Test(fuzz_plugins, every_plugin_has_a_row)
{
    const char *dir = getenv("AIGW_TEST_PLUGIN_DIR");
    cr_assert_not_null(dir);
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 3, ".so") != 0)
            continue;
        char vkey[64];
        snprintf(vkey, sizeof vkey, "%.*s", (int)(n - 3), de->d_name);
        int found = 0;
        for (size_t i = 0; i < sizeof provs / sizeof provs[0]; i++)
            found |= strcmp(provs[i].vkey, vkey) == 0;
        cr_assert(found, "plugin %s has no row in fuzz_plugins.c", vkey);
        seen++;
    }
    closedir(d);
    cr_assert_eq(seen, (int)(sizeof provs / sizeof provs[0]));
}
