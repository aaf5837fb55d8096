/*
 * libFuzzer target for the guardrail config parsers: the chain's (the `guardrails` array:
 * entry shapes, stages, fail_open, the schema check of each entry's config) and each built-in
 * guard's own (create(): word lists, regex patterns, PII types, schemas...). The first byte
 * picks what the rest is: a whole `guardrails` array, or the `config` object of one built-in
 * guard. A config that loads is then run on a request and a streamed answer, so odd configs
 * (strange words, pathological patterns) meet the hooks too. Any input must load or be refused
 * with a reason, never crash or leak.
 *
 * Needs AIGW_TEST_BUILDDIR (the guards in plugins/guards/.libs), as under make check. Build
 * for libFuzzer with -fsanitize=fuzzer against core/libgwcore.la.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "guard/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const guards[] = {"word-filter", "regex",    "pii",
                                     "secret-scan", "max-size", "json-schema"};
#define NGUARDS (sizeof guards / sizeof guards[0])

static char dir[1024];
static struct gw_guard_chain *keeper; /* keeps every guard loaded: no dlopen per input */

static void release(void)
{
    gw_guard_chain_free(keeper);
}

static void setup(void)
{
    char err[512];
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    snprintf(dir, sizeof dir, "%s/plugins/guards/.libs", b && *b ? b : ".");
    cJSON *all = cJSON_Parse(
        "[{\"name\":\"word-filter\",\"config\":{\"words\":[\"x\"]}},"
        "{\"name\":\"regex\",\"config\":{\"patterns\":[\"x\"]}},{\"name\":\"pii\"},"
        "{\"name\":\"secret-scan\"},{\"name\":\"max-size\",\"config\":{\"max_messages\":9}},"
        "{\"name\":\"json-schema\",\"config\":{\"schema\":true}}]");
    if (gw_guard_chain_load(&keeper, all, dir, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_guard_config: cannot load the guards from %s: %s\n", dir, err);
        abort();
    }
    cJSON_Delete(all);
    atexit(release);
}

static int sink(void *ud, const struct aigw_chunk *c)
{
    (void)ud;
    (void)c;
    return 0;
}

static void exercise(struct gw_guard_chain *c)
{
    static const char text[] = "Hi bob@example.com, card 4111 1111 1111 1111, x sk-proj-"
                               "HgaKwVJ7faC9qEwjky40UVsWmflzdE1F8ResqEDu caf\xc3\xa9 {\"a\":1}";
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 1, "m", "openai", "fuzz", NULL};
    struct gw_guard_run *run = gw_guard_run_new(c, &o);
    cJSON *body = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"x bob@example.com "
                              "\xc3\xa9\"}],\"max_tokens\":99999}");
    if (!run || !body)
        abort();
    int v = gw_guard_on_request(run, body);
    for (size_t at = 0; v == GW_GUARD_ALLOW && at < sizeof text - 1; at += 7) {
        struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        ch.text.ptr = text + at;
        ch.text.len = sizeof text - 1 - at < 7 ? sizeof text - 1 - at : 7;
        v = gw_guard_on_chunk(run, &ch, sink, NULL);
    }
    if (v == GW_GUARD_ALLOW)
        v = gw_guard_on_end(run, sink, NULL);
    if (v == GW_GUARD_DENY || v == GW_GUARD_FAILED) {
        struct aigw_error e;
        if (gw_guard_error(run, &e) || !e.message || !e.message[0])
            abort(); /* every refusal explains itself */
    }
    cJSON_Delete(body);
    gw_guard_run_free(run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    if (!keeper)
        setup();
    if (size < 1)
        return 0;
    size_t pick = data[0] % (NGUARDS + 1);
    cJSON *in = cJSON_ParseWithLength((const char *)data + 1, size - 1), *list = in;
    if (!in)
        return 0;
    if (pick == NGUARDS) { /* never let mutated input name a file to dlopen */
        cJSON *e;
        cJSON_ArrayForEach(e, in)
        {
            if (cJSON_IsObject(e))
                cJSON_DeleteItemFromObjectCaseSensitive(e, "path");
        }
    } else { /* one guard's config */
        list = cJSON_CreateArray();
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", guards[pick]);
        cJSON_AddItemToObject(e, "config", in);
        cJSON_AddItemToArray(list, e);
    }
    struct gw_guard_chain *c = NULL;
    err[0] = '\0';
    int rc = gw_guard_chain_load(&c, list, dir, err, sizeof err);
    if (rc < 0 && (c || !err[0]))
        abort(); /* a refusal leaves nothing behind and says why */
    if (c)
        exercise(c);
    gw_guard_chain_free(c);
    cJSON_Delete(list);
    return 0;
}
