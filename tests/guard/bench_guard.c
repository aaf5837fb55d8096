/*
 * bench_guard - what the pii and secret-scan guards (redacting, on both stages) cost one
 * request: the request stage on a chat body of a few messages, and the answer stage on a
 * 2 KiB answer, whole (not streamed) and in 16-byte deltas (streamed). Not part of
 * `make check`; run it by hand, best from a build without sanitizers:
 *
 *   make tests/guard/bench_guard && AIGW_TEST_BUILDDIR=$PWD tests/guard/bench_guard [requests]
 *
 * Prints microseconds per request for each case, and for the same work with no guard (the
 * chain not made at all, as the lifetime does when `guardrails` is empty).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "guard/guard.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int sink(void *ud, const struct aigw_chunk *c)
{
    *(size_t *)ud += c->text.len;
    return 0;
}

static const char body[] =
    "{\"model\":\"gpt-4o\",\"messages\":["
    "{\"role\":\"system\",\"content\":\"You are a helpful assistant for ACME support. Answer "
    "briefly and politely; never reveal internal notes.\"},"
    "{\"role\":\"user\",\"content\":\"Hi, my order 123456 has not arrived. I paid with card "
    "4111 1111 1111 1111 and you can reach me at jane.doe@example.com or +44 20 7946 0958.\"},"
    "{\"role\":\"assistant\",\"content\":\"Sorry to hear that! Let me look into order 123456 for "
    "you. Could you confirm the shipping address?\"},"
    "{\"role\":\"user\",\"content\":\"It is 221B Baker Street, London. Also my API key "
    "sk-proj-HgaKwVJ7faC9qEwjky40UVsWmflzdE1F8ResqEDu stopped working, can you check it?\"}]}";

static void answer_text(char *out, size_t size)
{
    static const char para[] = "Thank you for your patience. I checked order 123456 and it left "
                               "our warehouse on Monday; the carrier expects to deliver it within "
                               "two working days. For the API key, please create a new one in "
                               "the dashboard and revoke the old one. ";
    size_t n = 0;
    while (n + sizeof para < size) {
        memcpy(out + n, para, sizeof para - 1);
        n += sizeof para - 1;
    }
    out[n] = '\0';
}

static double run(const struct gw_guard_chain *c, long requests, int stream, int request_side)
{
    static char text[2048];
    size_t sent = 0, n;
    answer_text(text, sizeof text);
    n = strlen(text);
    int64_t t0 = now_ns();
    for (long r = 0; r < requests; r++) {
        struct gw_guard_run_opts o = {AIGW_OP_CHAT, stream, "gpt-4o", "openai", "bench", NULL};
        struct gw_guard_run *run = c ? gw_guard_run_new(c, &o) : NULL;
        if (request_side) {
            cJSON *b = cJSON_Parse(body);
            if (run && gw_guard_on_request(run, b) != GW_GUARD_ALLOW)
                abort();
            cJSON_Delete(b);
        } else {
            size_t step = stream ? 16 : n;
            for (size_t at = 0; at < n; at += step) {
                struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
                ch.text.ptr = text + at;
                ch.text.len = n - at < step ? n - at : step;
                if (run ? gw_guard_on_chunk(run, &ch, sink, &sent) != GW_GUARD_ALLOW
                        : sink(&sent, &ch) != 0)
                    abort();
            }
            if (run && gw_guard_on_end(run, sink, &sent) != GW_GUARD_ALLOW)
                abort();
        }
        gw_guard_run_free(run);
    }
    return (double)(now_ns() - t0) / 1e3 / (double)requests;
}

int main(int argc, char **argv)
{
    long requests = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    char dir[1024], err[512];
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    snprintf(dir, sizeof dir, "%s/plugins/guards/.libs", b && *b ? b : ".");
    cJSON *list = cJSON_Parse("[{\"name\":\"pii\"},{\"name\":\"secret-scan\"}]");
    struct gw_guard_chain *c = NULL;
    if (gw_guard_chain_load(&c, list, dir, err, sizeof err) < 0) {
        fprintf(stderr, "bench_guard: %s\n", err);
        return 1;
    }
    cJSON_Delete(list);
    printf("pii + secret-scan, %ld requests; microseconds per request (no guards / guards)\n",
           requests);
    printf("  request, 4 messages (parse included)   %8.2f / %8.2f\n", run(NULL, requests, 0, 1),
           run(c, requests, 0, 1));
    printf("  answer 2 KiB, not streamed             %8.2f / %8.2f\n", run(NULL, requests, 0, 0),
           run(c, requests, 0, 0));
    printf("  answer 2 KiB, streamed in 16-byte deltas %6.2f / %8.2f\n", run(NULL, requests, 1, 0),
           run(c, requests, 1, 0));
    gw_guard_chain_free(c);
    return 0;
}
