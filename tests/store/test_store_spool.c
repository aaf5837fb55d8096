/*
 * Store contract: spool files left by a stopped process are written on the next open, in the
 * current format and in the one before it (an upgrade after a crash loses nothing), and a
 * record whose sum does not match ends the replay there. The files are built by hand here,
 * so this also pins the on-disk format. And a process that dies with rows queued leaves
 * them all to the next one, and nothing of what its spool held before it was emptied.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aigw/plugin.h"
#include "lib/crc32c.h"
#include "store/fixture.h"
#include "store/store.h"

TestSuite(store_spool, .init = fx_setup, .fini = fx_teardown, .timeout = STORE_TEST_TIMEOUT);

struct head {
    char name[8];
    uint32_t ledger_size, log_size;
};
struct rec {
    uint32_t magic, kind, len, sum;
};

static uint32_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* A spool file of version v ('1' or '2') holding ledger rows for rid[0..n), the record of
 * index bad (if any) with a wrong sum. */
static void write_spool(const char *path, char v, const char *const *rid, int n, int bad)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    struct head h = {{'A', 'I', 'G', 'W', 'S', 'P', 'L', v},
                     sizeof(struct gw_ledger_entry),
                     sizeof(struct gw_log_row)};
    cr_assert_eq(fwrite(&h, sizeof h, 1, f), 1);
    for (int i = 0; i < n; i++) {
        struct gw_ledger_entry e;
        memset(&e, 0, sizeof e);
        snprintf(e.request_id, sizeof e.request_id, "%s", rid[i]);
        snprintf(e.key_id, sizeof e.key_id, "key-spool");
        snprintf(e.model, sizeof e.model, "gpt-4o-mini");
        snprintf(e.provider, sizeof e.provider, "openai");
        e.input_tokens = 10;
        e.cost_usd = 0.25;
        struct rec r = {0x53504c52u, 1, sizeof e, 0};
        r.sum = v == '1' ? fnv1a(&e, sizeof e) : gw_crc32c(0, &e, sizeof e);
        if (i == bad)
            r.sum ^= 1;
        cr_assert_eq(fwrite(&r, sizeof r, 1, f), 1);
        cr_assert_eq(fwrite(&e, sizeof e, 1, f), 1);
    }
    cr_assert_eq(fclose(f), 0);
}

Test(store_spool, both_formats_are_replayed_and_a_bad_sum_ends_the_file)
{
    char dir[] = "/tmp/aigw-spool-XXXXXX", prefix[64], path[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(prefix, sizeof prefix, "%s/db-spool", dir);
    const char *v1[] = {"old-1", "old-2"};
    snprintf(path, sizeof path, "%s.dead1.1", prefix);
    write_spool(path, '1', v1, 2, -1);
    const char *v2[] = {"new-1", "new-2", "new-3"};
    snprintf(path, sizeof path, "%s.dead2.1", prefix);
    write_spool(path, '2', v2, 3, 1); /* new-2 is torn: new-2 and new-3 are not read */

    struct gw_store_opts o = {.spool_prefix = prefix};
    struct gw_store *s = fx_open(&o);
    cr_assert_eq(gw_store_flush(s, 10000), 0);
    double usd = -1;
    int64_t rows = -1;
    cr_assert_eq(gw_store_ledger_total(s, "key-spool", &usd, &rows), 0);
    cr_assert_eq(rows, 3, "rows %lld", (long long)rows);
    cr_assert_float_eq(usd, 0.75, 1e-9);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_ledger WHERE request_id IN"
                            " ('old-1', 'old-2', 'new-1')"),
                 3);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_ledger WHERE request_id = 'new-3'"), 0);
    /* both replayed files are gone; the store's own is removed on a clean close */
    gw_store_close(s);
    snprintf(path, sizeof path, "%s.dead1.1", prefix);
    cr_assert_neq(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s.dead2.1", prefix);
    cr_assert_neq(access(path, F_OK), 0);
    cr_assert_eq(rmdir(dir), 0, "the spool directory is not empty");
}

/* A log row of fixed shape (every record the same size) */
static struct gw_log_row shaped(const char *id)
{
    struct gw_log_row r = {0};
    r.ts_ms = 1700000000000;
    snprintf(r.request_id, sizeof r.request_id, "%s", id);
    snprintf(r.dialect, sizeof r.dialect, "openai");
    snprintf(r.endpoint, sizeof r.endpoint, "/v1/chat/completions");
    snprintf(r.model_asked, sizeof r.model_asked, "gpt-4o-mini");
    snprintf(r.provider, sizeof r.provider, "openai");
    r.attempts = 1;
    r.status = 200;
    r.input_tokens = 10;
    return r;
}

#define MANY_ROWS 3500 /* past the spool's 1 MiB mapping: both ways of appending */

/* The child: past rows queued while the database's writes are held, then committed (the
 * spool emptied); then killed rows queued the same way, and the process gone without
 * closing anything, as after a SIGKILL. */
static void die_with_rows_queued(const char *prefix, int past, int killed)
{
    char err[256], id[64];
    struct gw_store_opts o = {.spool_prefix = prefix};
    struct gw_store *s = gw_store_open(fx_url(), &o, err, sizeof err);
    if (!s)
        _exit(2);
    fx_block_writes(); /* all of them in the spool at once, then committed together */
    for (int i = 0; i < past; i++) {
        snprintf(id, sizeof id, "past-%d", 1000 + i);
        struct gw_log_row r = shaped(id);
        if (gw_store_log_put(s, &r) != 0)
            _exit(3);
    }
    fx_unblock_writes();
    if (gw_store_flush(s, 30000) != 0)
        _exit(4);
    fx_block_writes();
    for (int i = 0; i < killed; i++) {
        snprintf(id, sizeof id, "kill-%d", 1000 + i); /* the same length as the past ids */
        struct gw_log_row r = shaped(id);
        if (gw_store_log_put(s, &r) != 0)
            _exit(5);
    }
    _exit(0);
}

/* Runs the child, deletes what it committed (as retention does), opens a store on its spool
 * and checks what the replay wrote. */
static void replay_of_dead(int past, int killed)
{
    char dir[] = "/tmp/aigw-spool-XXXXXX", prefix[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(prefix, sizeof prefix, "%s/db-spool", dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        die_with_rows_queued(prefix, past, killed);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log WHERE request_id LIKE 'past-%'"), past);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log WHERE request_id LIKE 'kill-%'"), 0);
    cr_assert_eq(fx_sql("DELETE FROM aigw_log"), 0);

    struct gw_store_opts o = {.spool_prefix = prefix};
    struct gw_store *s = fx_open(&o);
    cr_assert_eq(gw_store_flush(s, 30000), 0);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log WHERE request_id LIKE 'kill-%'"),
                 killed);
    cr_assert_eq(fx_sql_int("SELECT COUNT(*) FROM aigw_log WHERE request_id LIKE 'past-%'"), 0);
    gw_store_close(s);
    cr_assert_eq(rmdir(dir), 0, "the spool directory is not empty");
}

Test(store_spool, a_dead_process_leaves_all_its_queued_rows)
{
    replay_of_dead(0, MANY_ROWS);
}

/* One row queued where many were before: a replay that read on past it, into the emptied
 * file's old records (the next one begins where it ends), would bring deleted rows back.
 * Fewer than fill a spool file: a fuller one is replaced by a new file while it drains. */
Test(store_spool, a_dead_process_leaves_none_of_what_its_spool_held_before)
{
    replay_of_dead(350, 1);
}

/* Nothing queued after the file was emptied: it replays as empty. */
Test(store_spool, a_dead_process_with_nothing_queued_leaves_nothing)
{
    replay_of_dead(350, 0);
}

/* ---- the spend a restart starts from ------------------------------------------------------ */

#define SPENT_ROWS 2000 /* $0.001 each: $2 spent before the process died */

static void die_with_spend_queued(const char *prefix)
{
    char err[256];
    struct gw_store_opts o = {.spool_prefix = prefix};
    struct gw_store *s = gw_store_open(fx_url(), &o, err, sizeof err);
    if (!s)
        _exit(2);
    fx_block_writes(); /* the database was down: every row waits in the spool */
    for (int i = 0; i < SPENT_ROWS; i++) {
        struct gw_ledger_entry e = {.input_tokens = 1, .output_tokens = 1, .cost_usd = 0.001};
        snprintf(e.request_id, sizeof e.request_id, "spent-%d", i);
        snprintf(e.key_id, sizeof e.key_id, "kspool");
        snprintf(e.model, sizeof e.model, "gpt-4o-mini");
        snprintf(e.provider, sizeof e.provider, "openai");
        if (gw_store_ledger_add(s, &e) != 0)
            _exit(3);
    }
    _exit(0);
}

/* A key's budget counter starts from the committed spend the first time the restarted
 * gateway sees the key, which can be its first request: the spend of a killed process's
 * spool must be committed by then, or the key gets it back to spend again. */
Test(store_spool, a_dead_process_spend_is_committed_before_the_store_serves)
{
    char dir[] = "/tmp/aigw-spool-XXXXXX", prefix[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(prefix, sizeof prefix, "%s/db-spool", dir);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        die_with_spend_queued(prefix);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);

    struct gw_store_opts o = {.spool_prefix = prefix};
    struct gw_store *s = fx_open(&o);
    double usd = -1;
    cr_assert_eq(gw_store_key_spend(s, "kspool", GW_PERIOD_NONE, fx_now_ms() / 1000, &usd), 0);
    cr_assert(usd > SPENT_ROWS * 0.001 - 1e-6, "the key's spend right after the start: $%g of $%g",
              usd, SPENT_ROWS * 0.001);
    gw_store_close(s);
    cr_assert_eq(rmdir(dir), 0, "the spool directory is not empty");
}
