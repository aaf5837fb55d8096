/*
 * mockprov - the mock provider as a standalone server, for `./quickstart demo`, bench/ and
 * poking at by hand. Usage in tests/README.md; `mockprov --help` prints it.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mock.h"

#define MAX_SCENARIOS 32

static const char usage[] =
    "usage: mockprov [options] --scenario NAME|FILE [--scenario ...]\n"
    "       mockprov --encode-eventstream IN.jsonl OUT.bin\n"
    "\n"
    "  --host ADDR         IPv4 address to bind (default 127.0.0.1)\n"
    "  --port N            port (default 0: an ephemeral port)\n"
    "  --port-file FILE    write the port number (and a newline) to FILE once listening\n"
    "  --fixtures DIR      fixtures root for bare scenario names (default\n"
    "                      $AIGW_TEST_SRCDIR/tests/fixtures, else ./tests/fixtures)\n"
    "  --scenario S        load a scenario: a .json path, or NAME for\n"
    "                      <fixtures>/scenarios/NAME.json (repeatable; routes append)\n"
    "  --route JSON        add one route given inline (repeatable)\n"
    "  --threads N         worker threads (default 4)\n"
    "  --verbose           log each request on stderr\n"
    "\n"
    "Runs until SIGINT or SIGTERM. --encode-eventstream turns a JSON description of AWS\n"
    "event-stream messages into the binary (for Bedrock fixtures).\n";

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int write_port_file(const char *path, int port)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return -1;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fprintf(f, "%d\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    /* rename() so a reader polling the file never sees it half written */
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int encode_file(const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    char *text = NULL, *bin = NULL;
    size_t len = 0, cap = 0, blen = 0;
    int rc = 1;
    if (!f) {
        fprintf(stderr, "mockprov: cannot open %s: %s\n", in, strerror(errno));
        return 1;
    }
    for (;;) {
        if (len == cap) {
            char *nt = cap < (16u << 20) ? realloc(text, cap ? cap * 2 : 4096) : NULL;
            if (!nt)
                goto done;
            text = nt;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f) || mock_eventstream_encode(text, len, &bin, &blen))
        goto done;
    FILE *o = fopen(out, "wb");
    if (!o) {
        fprintf(stderr, "mockprov: cannot create %s: %s\n", out, strerror(errno));
        goto done;
    }
    int ok = fwrite(bin, 1, blen, o) == blen;
    ok = (fclose(o) == 0) && ok;
    rc = ok ? 0 : 1;
done:
    fclose(f);
    free(text);
    free(bin);
    return rc;
}

int main(int argc, char **argv)
{
    struct mock_opts o = {0};
    const char *port_file = NULL;
    const char *scenarios[MAX_SCENARIOS], *routes[MAX_SCENARIOS];
    int ns = 0, nr = 0;

    if (argc == 4 && strcmp(argv[1], "--encode-eventstream") == 0)
        return encode_file(argv[2], argv[3]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--verbose") == 0) {
            o.verbose = 1;
            continue;
        }
        if (!v)
            goto bad;
        i++;
        if (strcmp(a, "--host") == 0)
            o.host = v;
        else if (strcmp(a, "--port") == 0 && parse_int(v, 0, 65535, &o.port) == 0)
            ;
        else if (strcmp(a, "--threads") == 0 && parse_int(v, 1, 256, &o.threads) == 0)
            ;
        else if (strcmp(a, "--port-file") == 0)
            port_file = v;
        else if (strcmp(a, "--fixtures") == 0)
            o.fixtures_dir = v;
        else if (strcmp(a, "--scenario") == 0 && ns < MAX_SCENARIOS)
            scenarios[ns++] = v;
        else if (strcmp(a, "--route") == 0 && nr < MAX_SCENARIOS)
            routes[nr++] = v;
        else
            goto bad;
    }
    if (ns == 0 && nr == 0)
        goto bad;

    /* A benchmark holds a thousand streams: let the descriptor limit go as high as allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Block the stop signals before any thread exists, so only sigwait() below sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct mock *m = mock_start(&o);
    if (!m)
        return 1;
    for (int i = 0; i < ns; i++)
        if (mock_load_scenario(m, scenarios[i])) {
            mock_stop(m);
            return 1;
        }
    for (int i = 0; i < nr; i++)
        if (mock_add_route_json(m, routes[i])) {
            mock_stop(m);
            return 1;
        }
    if (port_file && write_port_file(port_file, mock_port(m))) {
        fprintf(stderr, "mockprov: cannot write %s\n", port_file);
        mock_stop(m);
        return 1;
    }
    fprintf(stderr, "mockprov: listening on %s\n", mock_url(m));
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "mockprov: %d requests, stopping\n", mock_request_count(m));
    mock_stop(m);
    if (port_file)
        unlink(port_file);
    return 0;
bad:
    fputs(usage, stderr);
    return 2;
}
