/*
 * test_loader - core/plugin_loader.c against real shared objects, one per failure path. Each
 * case builds a fresh plugin directory holding only the modules it is about, loads it, and
 * checks both the outcome (what loaded, what is active and why) and the single log line that
 * tells an operator which file was skipped and why.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/redact.h"
#include "maps.h"
#include "plugin/call.h"
#include "plugin/exchange.h"
#include "plugin/host.h"
#include "plugin/plugin_loader.h"

#define CANARY "sk-LOADER-CANARY-5150"

static char dir[512];
static char log_path[600];
static struct gw_plugins ps;
static int loaded;

/* Where automake leaves the test modules: $AIGW_TEST_BUILDDIR/tests/loader/.libs. */
static void module_path(const char *module, char *out, size_t size)
{
    const char *b = getenv("AIGW_TEST_BUILDDIR");
    int n = snprintf(out, size, "%s/tests/loader/.libs/%s.so", b && *b ? b : ".", module);
    cr_assert(n > 0 && (size_t)n < size, "path too long");
}

static void write_file(const char *name, const void *data, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "create %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t)len, "write %s", path);
    close(fd);
}

/* Copies tests/loader/.libs/<module>.so into the plugin directory as `as`. */
static void add_as(const char *module, const char *as)
{
    char src[700];
    module_path(module, src, sizeof src);
    FILE *f = fopen(src, "rb");
    cr_assert_not_null(f, "%s missing (run via make check): %s", src, strerror(errno));
    static char data[4 << 20];
    size_t n = fread(data, 1, sizeof data, f);
    cr_assert(feof(f) && !ferror(f), "%s: unreadable or larger than %zu bytes", src, sizeof data);
    fclose(f);
    write_file(as, data, n);
}

static void add(const char *module)
{
    char as[128];
    snprintf(as, sizeof as, "%s.so", module);
    add_as(module, as);
}

/* A file with a plugin's name that is no shared object at all. */
static void add_garbage(void)
{
    static const char text[] = "this is not an ELF file, just text named like a plugin\n";
    write_file("garbage.so", text, sizeof text - 1);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/aigw-loader.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    snprintf(log_path, sizeof log_path, "%s.log", dir);
    cr_assert_eq(gw_log_init(AIGW_LOG_DEBUG, log_path, NULL), 0);
    unsetenv("LOADER_GOOD_KEY");
    unsetenv("LOADER_GOOD_MODE");
    unsetenv("LOADER_EMIT_KEY");
    unsetenv("LOADER_EMIT_PROCESS");
    loaded = 0;
}

static void teardown(void)
{
    if (loaded)
        gw_plugins_unload(&ps);
    gw_log_close();
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[sizeof dir + sizeof de->d_name + 1];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
    unlink(log_path);
}

static int load(void)
{
    int rc = gw_plugins_load(&ps, dir);
    loaded = 1;
    return rc;
}

/* The whole log so far, NUL-terminated (static buffer). */
static const char *log_text(void)
{
    static char buf[64 * 1024];
    FILE *f = fopen(log_path, "r");
    cr_assert_not_null(f, "log %s: %s", log_path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        k++;
    return k;
}

static void assert_logged(const char *line)
{
    const char *text = log_text();
    cr_assert(strstr(text, line), "log lacks\n  %s\nlog:\n%s", line, text);
    cr_assert_eq(count(text, line), 1, "logged more than once:\n  %s\nlog:\n%s", line, text);
}

TestSuite(loader, .init = setup, .fini = teardown, .timeout = 30);

Test(loader, good_plugin_active_when_its_env_is_set)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_str_eq(p->file, "good.so");
    cr_assert_str_eq(p->desc.vkey, "loader-good");
    cr_assert_str_eq(p->desc.name, "Loader Good");
    cr_assert_eq(p->desc.struct_size, sizeof(struct aigw_provider));
    cr_assert_eq(p->active, 1);
    cr_assert_eq(p->initialized, 1);
    cr_assert_str_eq(p->why, "");
    /* init() stored what host->env() gave it: the table's default for an unset variable. */
    cr_assert_not_null(p->plugin_data);
    cr_assert_str_eq((const char *)p->plugin_data, "plain");
    cr_assert_eq(gw_plugins_find(&ps, "loader-good"), p);
    cr_assert_eq(gw_plugins_active_count(&ps), 1);
    assert_logged("provider loader-good (good.so 1.2.3): active");
    cr_assert_null(strstr(log_text(), CANARY), "the secret reached the log");
}

Test(loader, good_plugin_inactive_without_required_env)
{
    add("good");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_eq(p->active, 0);
    cr_assert_eq(p->initialized, 0, "init() must not run for an inactive provider");
    cr_assert_str_eq(p->missing, "LOADER_GOOD_KEY");
    cr_assert_str_eq(p->why, "missing LOADER_GOOD_KEY");
    cr_assert_eq(gw_plugins_active_count(&ps), 0);
    assert_logged("provider loader-good (good.so 1.2.3): inactive, missing LOADER_GOOD_KEY");
}

Test(loader, init_declining_keeps_provider_inactive_with_its_reason)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    setenv("LOADER_GOOD_MODE", "decline", 1);
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_eq(p->active, 0);
    cr_assert_eq(p->initialized, 0);
    cr_assert_str_eq(p->why, "declined: LOADER_GOOD_MODE says no");
    assert_logged("provider loader-good (good.so 1.2.3): inactive, declined: "
                  "LOADER_GOOD_MODE says no");
}

/* Whether <dir>/<file> is mapped into this process. */
static int mapped(const char *file)
{
    char want[700];
    snprintf(want, sizeof want, "%s/%s", dir, file);
    int r = test_maps_file("self", want);
    cr_assert_geq(r, 0, "/proc/self/maps: %s", strerror(errno));
    return r;
}

/* An inactive provider's module is closed, and what describes it still reads right (from the
 * core's copies: a pointer left into the module would now fault or trip ASan). */
static void check_closed_but_described(struct gw_plugin *p)
{
    cr_assert_not(mapped("good.so"), "an inactive provider's module is still mapped");
    cr_assert_null(p->handle);
    cr_assert_str_eq(p->file, "good.so");
    cr_assert_str_eq(p->desc.vkey, "loader-good");
    cr_assert_str_eq(p->desc.name, "Loader Good");
    cr_assert_str_eq(p->desc.version, "1.2.3");
    cr_assert_eq(p->desc.capabilities, AIGW_CAP_CHAT | AIGW_CAP_STREAM);
    cr_assert_eq(p->desc.stream_framing, AIGW_FRAMING_SSE);
    cr_assert_eq(p->desc.struct_size, sizeof(struct aigw_provider));
    const struct aigw_env_var *e = p->desc.env;
    cr_assert_not_null(e);
    cr_assert_str_eq(e[0].name, "LOADER_GOOD_KEY");
    cr_assert_eq(e[0].flags, AIGW_ENV_REQUIRED | AIGW_ENV_SECRET);
    cr_assert_null(e[0].default_value);
    cr_assert_str_eq(e[0].help, "test credential");
    cr_assert_str_eq(e[1].name, "LOADER_GOOD_MODE");
    cr_assert_str_eq(e[1].default_value, "plain");
    cr_assert_str_eq(e[1].help, "\"decline\" makes init() refuse");
    cr_assert_null(e[2].name);
    cr_assert(!p->desc.init && !p->desc.fini && !p->desc.build_request && !p->desc.parse_response &&
                  !p->desc.stream_event && !p->desc.map_error,
              "a callback still points into the closed module");
    cr_assert_null(gw_plugin_env(p, "LOADER_GOOD_MODE"));
    cr_assert_eq(gw_plugins_find(&ps, "loader-good"), p);
    char list[64];
    gw_plugins_active_list(&ps, list, sizeof list);
    cr_assert_str_eq(list, "");
}

Test(loader, inactive_provider_is_closed_and_still_described)
{
    add("good");
    cr_assert_eq(load(), 0);
    struct gw_plugin *p = ps.items[0];
    cr_assert_eq(p->active, 0);
    check_closed_but_described(p);
    cr_assert_str_eq(p->missing, "LOADER_GOOD_KEY");
    cr_assert_str_eq(p->why, "missing LOADER_GOOD_KEY");
}

Test(loader, declined_provider_is_closed_and_its_secret_still_redacted)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    setenv("LOADER_GOOD_MODE", "decline", 1);
    gw_redact_reset();
    cr_assert_eq(load(), 0);
    struct gw_plugin *p = ps.items[0];
    cr_assert_eq(p->active, 0);
    check_closed_but_described(p);
    cr_assert_str_eq(p->why, "declined: LOADER_GOOD_MODE says no");
    cr_assert(gw_redact_contains_secret(CANARY, strlen(CANARY)), "the key is not redacted");
    /* Registering again reads the kept env table, not the module's. */
    gw_redact_reset();
    gw_plugins_register_secrets(&ps);
    cr_assert(gw_redact_contains_secret(CANARY, strlen(CANARY)));
    gw_redact_reset();
}

Test(loader, active_provider_stays_mapped)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.items[0]->active, 1);
    cr_assert(mapped("good.so"), "the active provider's module is not mapped");
    cr_assert_not_null(ps.items[0]->handle);
    cr_assert_not_null(ps.items[0]->desc.build_request);
}

/* An older 1.x plugin: the host copies only struct_size bytes, so members the plugin did not
 * know about read as absent even though the plugin's memory after them holds pointers. */
Test(loader, older_descriptor_is_zero_extended)
{
    add("older");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_str_eq(p->desc.vkey, "loader-older");
    cr_assert_eq(p->desc.struct_size, offsetof(struct aigw_provider, map_error) + sizeof(void *));
    cr_assert_not_null(p->desc.build_request);
    cr_assert_not_null(p->desc.map_error);
    cr_assert_null(p->desc.embeddings_build, "read past the plugin's struct_size");
    cr_assert_null(p->desc.embeddings_parse, "read past the plugin's struct_size");
    cr_assert_eq(p->active, 1);
    assert_logged("provider loader-older (older.so 0.9.0): active");
}

/* ABI 1.2 accepts a plugin declaring 1.0 (built with this header targeting 1.0, as one meant
 * to load on 1.0 hosts too would be), and the host table it gets advertises both 1.1 members
 * through struct_size, which is what the plugin's AIGW_HOST_HAS probes in init() read. */
Test(loader, minor_zero_plugin_loads_and_sees_the_1_1_host_members)
{
    add("minor_zero");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_str_eq(p->desc.vkey, "loader-minor-zero");
    cr_assert_eq(p->desc.abi_version, 0x10000u);
    cr_assert_eq(p->active, 1);
    cr_assert_eq(p->initialized, 1);
    cr_assert_str_eq((const char *)p->plugin_data, "fail_code,retry_after_ms");
    assert_logged("provider loader-minor-zero (minor_zero.so 1.0.0): active");
    cr_assert_null(strstr(log_text(), " skipped: "), "log:\n%s", log_text());
}

Test(loader, another_major_is_refused)
{
    add("bad_major");
    cr_assert_eq(load(), 0, "a refused plugin must not fail the load");
    cr_assert_eq(ps.n, 0);
    char line[512];
    snprintf(line, sizeof line,
             "plugin bad_major.so skipped: built for another ABI major version "
             "(plugin ABI %d.%d, struct_size %zu; aigw ABI %d.%d)",
             AIGW_ABI_MAJOR + 1, AIGW_ABI_MINOR, sizeof(struct aigw_provider), AIGW_ABI_MAJOR,
             AIGW_ABI_MINOR);
    assert_logged(line);
}

Test(loader, newer_minor_is_refused)
{
    add("newer_minor");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 0);
    char line[512];
    snprintf(line, sizeof line,
             "plugin newer_minor.so skipped: built for a newer ABI minor version than this aigw "
             "(plugin ABI %d.%d, struct_size %zu; aigw ABI %d.%d)",
             AIGW_ABI_MAJOR, AIGW_ABI_MINOR + 1, sizeof(struct aigw_provider), AIGW_ABI_MAJOR,
             AIGW_ABI_MINOR);
    assert_logged(line);
}

Test(loader, short_struct_size_is_refused)
{
    add("short_size");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 0);
    char line[512];
    snprintf(line, sizeof line,
             "plugin short_size.so skipped: descriptor struct_size too small "
             "(plugin ABI %d.%d, struct_size %zu; aigw ABI %d.%d)",
             AIGW_ABI_MAJOR, AIGW_ABI_MINOR, offsetof(struct aigw_provider, build_request),
             AIGW_ABI_MAJOR, AIGW_ABI_MINOR);
    assert_logged(line);
}

Test(loader, missing_entry_symbol_is_refused)
{
    add("no_entry");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 0);
    assert_logged("plugin no_entry.so skipped: no aigw_plugin_entry symbol");
}

Test(loader, duplicate_vkey_keeps_the_first_by_file_name)
{
    /* Added in reverse order: the loader sorts by file name, not directory order. */
    add("dup_b");
    add("dup_a");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 1);
    struct gw_plugin *p = ps.items[0];
    cr_assert_str_eq(p->file, "dup_a.so");
    cr_assert_str_eq(p->desc.name, "Loader Dup A");
    cr_assert_str_eq(p->desc.version, "1.0.0");
    cr_assert_eq(p->active, 1);
    assert_logged("plugin dup_b.so skipped: duplicate vkey 'loader-dup' (already provided by "
                  "dup_a.so)");
}

Test(loader, garbage_file_is_refused)
{
    add_garbage();
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 0);
    assert_logged("plugin garbage.so skipped: not a loadable shared object (");
}

Test(loader, only_visible_so_files_are_considered)
{
    add_as("good", ".good.so");
    add_as("good", "good.so.bak");
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 0);
    cr_assert_null(strstr(log_text(), "good.so"), "log:\n%s", log_text());
}

Test(loader, unreadable_directory_fails_and_names_it)
{
    char missing[600];
    snprintf(missing, sizeof missing, "%s/absent", dir);
    cr_assert_lt(gw_plugins_load(&ps, missing), 0);
    loaded = 1;
    cr_assert_eq(ps.n, 0);
    char line[700];
    snprintf(line, sizeof line, "plugin directory %s cannot be read: ", missing);
    assert_logged(line);
}

/* Everything in one directory: the good ones load, each bad one costs exactly one line. */
Test(loader, mixed_directory_loads_the_good_and_logs_each_bad_once)
{
    static const char *const mods[] = {"good",       "older",    "bad_major", "newer_minor",
                                       "short_size", "no_entry", "dup_a",     "dup_b"};
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
        add(mods[i]);
    add_garbage();
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    cr_assert_eq(load(), 0);
    cr_assert_eq(ps.n, 3);
    cr_assert_str_eq(ps.items[0]->file, "dup_a.so");
    cr_assert_str_eq(ps.items[1]->file, "good.so");
    cr_assert_str_eq(ps.items[2]->file, "older.so");
    cr_assert_eq(gw_plugins_active_count(&ps), 3);
    char list[256];
    gw_plugins_active_list(&ps, list, sizeof list);
    cr_assert_str_eq(list, "loader-dup, loader-good, loader-older");
    const char *text = log_text();
    cr_assert_eq(count(text, " skipped: "), 6, "log:\n%s", text);
    static const char *const bad[] = {"bad_major.so", "newer_minor.so", "short_size.so",
                                      "no_entry.so",  "dup_b.so",       "garbage.so"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "plugin %s skipped: ", bad[i]);
        cr_assert_eq(count(text, prefix), 1, "%s: log:\n%s", bad[i], text);
    }
    cr_assert_null(strstr(text, CANARY), "the secret reached the log");
}

/* ---- usage and errors across ABI minors ---------------------------------------------------
 * emitter.c built against the 1.1 header, against this header targeting 1.1, and against this
 * header as is: the host must read the same usage and errors from all three, whatever layout
 * each was compiled with. */

struct seen {
    int texts;
    int usages;
    struct aigw_usage usage;
};

static int record(void *ud, const struct aigw_chunk *ch)
{
    struct seen *s = ud;
    if (ch->type == AIGW_CHUNK_TEXT)
        s->texts++;
    if (ch->type == AIGW_CHUNK_USAGE) {
        s->usages++;
        s->usage = *ch->usage;
    }
    return 0;
}

/* Loads the module on first use in a test (one module per test directory). */
static struct gw_plugin *load_active(const char *module, const char *vkey)
{
    if (!loaded) {
        add(module);
        cr_assert_eq(load(), 0);
    }
    struct gw_plugin *p = gw_plugins_find(&ps, vkey);
    cr_assert_not_null(p, "%s did not load; log:\n%s", module, log_text());
    cr_assert(p->active, "%s inactive: %s", module, p->why);
    return p;
}

/* One attempt: build, then the upstream answers status and body. */
static void exchange(struct gw_plugin *p, struct gw_call *c, struct seen *s, int status,
                     const char *body)
{
    cr_assert_eq(gw_call_init(c, p, AIGW_OP_CHAT, NULL, "m", 0, 0), 0);
    c->request_id = "rid";
    c->sink = record;
    c->sink_ud = s;
    cr_assert_eq(gw_exchange_begin(c), 0);
    cr_assert_eq(gw_exchange_headers(c, status), 0);
    cr_assert_eq(gw_exchange_data(c, body, strlen(body)), 0);
    cr_assert_eq(gw_exchange_end(c), 0);
}

static void check_usage(const char *module, const char *vkey)
{
    struct gw_call c;
    struct seen s = {0};
    exchange(load_active(module, vkey), &c, &s, 200, "ok");
    cr_assert_eq(c.has_error, 0);
    cr_assert_eq(s.texts, 1);
    cr_assert_eq(s.usages, 1);
    cr_assert_eq(s.usage.prompt_tokens, 11, "%s: prompt %lld", module,
                 (long long)s.usage.prompt_tokens);
    cr_assert_eq(s.usage.completion_tokens, 7);
    cr_assert_eq(s.usage.cached_tokens, 3);
    cr_assert_eq(s.usage.cache_write_tokens, 2);
    cr_assert_eq(s.usage.reasoning_tokens, 5);
    gw_call_free(&c);
}

static void check_inband_error(const char *module, const char *vkey)
{
    struct gw_call c;
    struct seen s = {0};
    exchange(load_active(module, vkey), &c, &s, 200, "inband");
    cr_assert_eq(c.has_error, 1);
    cr_assert_eq(c.error_in_band, 1);
    cr_assert_eq(c.error.status, 503, "%s: status %d", module, c.error.status);
    cr_assert_str_eq(c.error.type, "server_error");
    cr_assert_str_eq(c.error.code, "overloaded");
    cr_assert_str_eq(c.error.param, "model");
    cr_assert_str_eq(c.error.message, "busy right now");
    cr_assert_eq(c.error.retryable, 1);
    cr_assert_eq(c.error.retry_after_ms, 1500);
    gw_call_free(&c);
}

static void check_mapped_errors(const char *module, const char *vkey)
{
    struct gw_plugin *p = load_active(module, vkey);
    struct gw_call c;
    struct seen s = {0};
    /* The plugin fills the error itself. */
    exchange(p, &c, &s, 429, "{}");
    cr_assert_eq(c.has_error, 1);
    cr_assert_eq(c.error_in_band, 0);
    cr_assert_eq(c.error.status, 429, "%s: status %d", module, c.error.status);
    cr_assert_str_eq(c.error.type, "rate_limit_error");
    cr_assert_str_eq(c.error.code, "slow_down");
    cr_assert_null(c.error.param);
    cr_assert_str_eq(c.error.message, "too many requests");
    cr_assert_eq(c.error.retryable, 1);
    cr_assert_eq(c.error.retry_after_ms, 2500);
    gw_call_free(&c);
    /* The plugin hands its error struct to host->oai_map_error. */
    exchange(p, &c, &s, 500,
             "{\"error\":{\"message\":\"kaboom\",\"type\":\"api_error\",\"code\":\"down\"}}");
    cr_assert_eq(c.has_error, 1);
    cr_assert_eq(c.error.status, 500, "%s: status %d", module, c.error.status);
    cr_assert_str_eq(c.error.type, "api_error");
    cr_assert_str_eq(c.error.code, "down");
    cr_assert_str_eq(c.error.message, "kaboom");
    cr_assert_eq(c.error.retryable, 1);
    cr_assert_eq(c.error.retry_after_ms, -1);
    gw_call_free(&c);
    cr_assert_eq(s.usages, 0);
}

/* A plugin built against the 1.1 header, never rebuilt: it declares 1.1, loads, and its
 * unprefixed usage and error structs read right. */
Test(loader, plugin_built_against_the_1_1_header_loads)
{
    struct gw_plugin *p = load_active("emit_v1_1", "loader-emit-v1-1");
    cr_assert_eq(p->desc.abi_version, AIGW_ABI_VERSION_OF(1, 1));
    assert_logged("provider loader-emit-v1-1 (emit_v1_1.so 1.0.0): active");
}

Test(loader, usage_of_a_1_1_plugin_reads_right)
{
    check_usage("emit_v1_1", "loader-emit-v1-1");
}

Test(loader, inband_error_of_a_1_1_plugin_reads_right)
{
    check_inband_error("emit_v1_1", "loader-emit-v1-1");
}

Test(loader, mapped_errors_of_a_1_1_plugin_read_right)
{
    check_mapped_errors("emit_v1_1", "loader-emit-v1-1");
}

Test(loader, plugin_targeting_1_1_declares_1_1)
{
    struct gw_plugin *p = load_active("emit_target_1", "loader-emit-target-1");
    cr_assert_eq(p->desc.abi_version, AIGW_ABI_VERSION_OF(1, 1));
}

Test(loader, usage_and_errors_of_a_plugin_targeting_1_1_read_right)
{
    check_usage("emit_target_1", "loader-emit-target-1");
    check_inband_error("emit_target_1", "loader-emit-target-1");
    check_mapped_errors("emit_target_1", "loader-emit-target-1");
}

Test(loader, usage_and_errors_of_a_1_2_plugin_read_right)
{
    struct gw_plugin *p = load_active("emit_v1_2", "loader-emit-v1-2");
    cr_assert_eq(p->desc.abi_version, AIGW_ABI_VERSION_OF(1, 2));
    check_usage("emit_v1_2", "loader-emit-v1-2");
    check_inband_error("emit_v1_2", "loader-emit-v1-2");
    check_mapped_errors("emit_v1_2", "loader-emit-v1-2");
}

/* ---- host->env: the calling plugin's own table, read at load ------------------------------ */

/* Builds one request; the emitter reports what host->env answered in request headers. */
static const char *env_seen(struct gw_plugin *p, const char *header)
{
    static char value[256];
    struct gw_call c;
    cr_assert_eq(gw_call_init(&c, p, AIGW_OP_CHAT, NULL, "m", 0, 0), 0);
    cr_assert_eq(gw_exchange_begin(&c), 0);
    const char *v = gw_call_find_header(c.headers, header);
    cr_assert_not_null(v, "no %s header", header);
    snprintf(value, sizeof value, "%s", v);
    gw_call_free(&c);
    return value;
}

Test(loader, env_answers_only_the_plugins_own_variables)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    setenv("LOADER_EMIT_KEY", "mine", 1);
    setenv("LOADER_EMIT_PROCESS", "in no table", 1);
    struct gw_plugin *p = load_active("emit_v1_2", "loader-emit-v1-2");
    cr_assert_str_eq(env_seen(p, "X-Own"), "mine");
    /* Another plugin's key, set in the environment: not this plugin's business. */
    cr_assert_str_eq(env_seen(p, "X-Other"), "(null)");
    /* Another plugin's default: not answered either. */
    cr_assert_str_eq(env_seen(p, "X-Other-Default"), "(null)");
    /* A process variable no table declares. */
    cr_assert_str_eq(env_seen(p, "X-Process"), "(null)");
    /* The other plugin still gets its own default (its init() stored it). */
    struct gw_plugin *good = gw_plugins_find(&ps, "loader-good");
    cr_assert(good && good->active);
    cr_assert_str_eq((const char *)good->plugin_data, "plain");
}

Test(loader, env_of_a_1_1_plugin_is_scoped_too)
{
    add("good");
    setenv("LOADER_GOOD_KEY", CANARY, 1);
    struct gw_plugin *p = load_active("emit_v1_1", "loader-emit-v1-1");
    cr_assert_str_eq(env_seen(p, "X-Own"), "emit-default");
    cr_assert_str_eq(env_seen(p, "X-Other"), "(null)");
    cr_assert_str_eq(env_seen(p, "X-Other-Default"), "(null)");
}

Test(loader, env_is_read_at_load)
{
    struct gw_plugin *p = load_active("emit_v1_2", "loader-emit-v1-2");
    cr_assert_str_eq(env_seen(p, "X-Own"), "emit-default");
    setenv("LOADER_EMIT_KEY", "changed after load", 1);
    cr_assert_str_eq(env_seen(p, "X-Own"), "emit-default");
}

/* Outside any plugin's callback there is no table to answer from. */
Test(loader, env_outside_a_plugin_is_null)
{
    setenv("LOADER_EMIT_KEY", "set", 1);
    cr_assert_not_null(getenv("PATH"));
    cr_assert_null(gw_host()->env("PATH"));
    cr_assert_null(gw_host()->env("LOADER_EMIT_KEY"));
}
