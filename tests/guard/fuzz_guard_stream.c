/*
 * libFuzzer target for the streaming window with every built-in guard redacting: the rest of
 * the input after the first byte is an answer's text, fed whole and then cut into chunks of
 * 1-16 bytes (sizes from a generator seeded by the first byte). What the client would get must
 * be the same both ways (redaction never depends on where the deltas were cut), no chunk may
 * start inside a UTF-8 sequence of valid text, and nothing may crash or leak.
 *
 * Needs AIGW_TEST_BUILDDIR (the guards in plugins/guards/.libs), as under make check;
 * FUZZ_DEBUG=1 prints both outputs when they differ.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "guard/guard.h"
#include "lib/buf.h"
#include "lib/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gw_guard_chain *chain;

static void release(void)
{
    gw_guard_chain_free(chain);
}

static void setup(void)
{
    char dir[1024], err[512];
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    snprintf(dir, sizeof dir, "%s/plugins/guards/.libs", b && *b ? b : ".");
    cJSON *all = cJSON_Parse(
        "[{\"name\":\"word-filter\",\"config\":{\"words\":[\"bad\",\"caf\\u00e9 noir\"],"
        "\"action\":\"redact\"}},"
        "{\"name\":\"regex\",\"config\":{\"patterns\":[\"[0-9]{3}-x+\",\"BEGIN.*?END\"],"
        "\"action\":\"redact\"}},"
        "{\"name\":\"pii\"},{\"name\":\"secret-scan\"},"
        "{\"name\":\"json-schema\",\"config\":{\"schema\":{\"type\":\"object\"}}}]");
    if (gw_guard_chain_load(&chain, all, dir, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_guard_stream: cannot load the guards from %s: %s\n", dir, err);
        abort();
    }
    cJSON_Delete(all);
    atexit(release);
}

struct out {
    struct gw_buf text;
    int valid; /* the input was valid UTF-8: chunks must start on characters */
};

static int collect(void *ud, const struct aigw_chunk *c)
{
    struct out *o = ud;
    if (c->type != AIGW_CHUNK_TEXT)
        return 0;
    if (o->valid && c->text.len && ((unsigned char)c->text.ptr[0] & 0xC0) == 0x80)
        abort();
    return gw_buf_append(&o->text, c->text.ptr, c->text.len) ? -1 : 0;
}

static int feed(const char *p, size_t n, uint32_t seed, struct out *o)
{
    struct gw_guard_run_opts opts = {AIGW_OP_CHAT, 1, "m", "openai", "fuzz", NULL};
    struct gw_guard_run *run = gw_guard_run_new(chain, &opts);
    int v = run ? gw_guard_on_request(run, NULL) : -1;
    for (size_t at = 0; v == GW_GUARD_ALLOW && at < n;) {
        size_t k = 1 + (seed ? (seed = seed * 1103515245u + 12345u) >> 16 : n) % 16;
        if (!seed)
            k = n;
        if (k > n - at)
            k = n - at;
        struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
        ch.text.ptr = p + at;
        ch.text.len = k;
        v = gw_guard_on_chunk(run, &ch, collect, o);
        at += k;
    }
    if (v == GW_GUARD_ALLOW) {
        struct aigw_chunk fin = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
        fin.finish = AIGW_FINISH_STOP;
        v = gw_guard_on_chunk(run, &fin, collect, o);
    }
    if (v == GW_GUARD_ALLOW)
        v = gw_guard_on_end(run, collect, o);
    if (v != GW_GUARD_ALLOW && v != GW_GUARD_DENY)
        abort(); /* every guard here redacts; only json-schema may deny a stream */
    gw_guard_run_free(run);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!chain)
        setup();
    if (size < 1)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    struct out whole, cut;
    gw_buf_init(&whole.text, 1u << 22);
    gw_buf_init(&cut.text, 1u << 22);
    whole.valid = cut.valid = gw_utf8_invalid_at(p, n) == (size_t)-1;
    int v1 = feed(p, n, 0, &whole);
    int v2 = feed(p, n, data[0] | 1u, &cut);
    if (v1 != v2 || whole.text.len != cut.text.len ||
        (whole.text.len && memcmp(whole.text.ptr, cut.text.ptr, whole.text.len))) {
        /* The cut changed what the client gets. */
        if (getenv("FUZZ_DEBUG"))
            fprintf(stderr, "verdicts %d %d\nwhole: %.*s\ncut:   %.*s\n", v1, v2,
                    (int)whole.text.len, whole.text.ptr, (int)cut.text.len, cut.text.ptr);
        abort();
    }
    gw_buf_free(&whole.text);
    gw_buf_free(&cut.text);
    return 0;
}
