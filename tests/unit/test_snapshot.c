/*
 * test_snapshot - the reloadable configuration's publication (proxy/snapshot.c): readers
 * taking and dropping references on many threads while a publisher swaps snapshots never
 * see one freed (ASan would stop the test) and never see an older one after a newer; the
 * last reference frees each (LeakSanitizer); a reloaded router keeps the health table unless
 * its latency settings changed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plugin/plugin_loader.h"
#include "proxy/gateway.h"
#include "proxy/snapshot.h"

static const char *const routings[] = {
    "{\"routing\":{\"strategy\":\"fallback\",\"retry\":{\"max_attempts\":2}}}",
    "{\"routing\":{\"strategy\":\"single\",\"retry\":{\"max_attempts\":3}}}",
    "{\"routing\":{\"strategy\":\"fallback\",\"least_latency\":{\"window\":8,\"min_samples\":2}}}",
};

static struct gw_plugins none;

static struct gw_snap *build(const char *json, const struct gw_snap *prev)
{
    struct gw_config c;
    gw_config_defaults(&c);
    c.root = cJSON_Parse(json);
    cr_assert_not_null(c.root);
    c.routing = (cJSON *)gw_config_get(c.root, "routing");
    struct gw_snap *s = NULL;
    char err[256] = "";
    cr_assert_eq(gw_snap_new(&s, &c, &none, NULL, prev, NULL, err, sizeof err), 0, "%s", err);
    gw_config_free(&c);
    return s;
}

static void gw_zero(struct gw_gateway *gw)
{
    memset(gw, 0, sizeof *gw);
    atomic_init(&gw->snap, NULL);
    atomic_init(&gw->snap_epoch, 0);
    atomic_init(&gw->snap_readers[0], 0);
    atomic_init(&gw->snap_readers[1], 0);
}

struct reader {
    struct gw_gateway *gw;
    atomic_int *stop;
    long reads;
    int went_back;
};

static void *read_loop(void *ud)
{
    struct reader *rd = ud;
    uint64_t last = 0;
    while (!atomic_load(rd->stop)) {
        struct gw_snap *s = gw_snap_acquire(rd->gw);
        /* Touch what a request reads: freed memory here is an ASan report. */
        if (s->generation < last)
            rd->went_back = 1;
        last = s->generation;
        volatile int m = s->router.max_attempts + s->router.strategy;
        volatile int64_t t = s->cfg.connect_timeout_ms;
        (void)m;
        (void)t;
        gw_snap_release(s);
        rd->reads++;
    }
    return NULL;
}

Test(snapshot, readers_never_see_a_freed_or_older_snapshot_while_publishes_go_on)
{
    struct gw_gateway gw;
    gw_zero(&gw);
    gw_snap_publish(&gw, build(routings[0], NULL));
    atomic_int stop;
    atomic_init(&stop, 0);
    enum { READERS = 4, PUBLISHES = 400 };
    struct reader rd[READERS];
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (struct reader){.gw = &gw, .stop = &stop};
        cr_assert_eq(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
    }
    /* A request that started before the publishes keeps its snapshot to the end. */
    struct gw_snap *held = gw_snap_acquire(&gw);
    for (int i = 1; i <= PUBLISHES; i++) {
        struct gw_snap *prev = gw_snap_acquire(&gw);
        struct gw_snap *next = build(routings[i % 3], prev);
        gw_snap_release(prev);
        cr_assert_eq(next->generation, (uint64_t)i + 1);
        gw_snap_publish(&gw, next);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        cr_assert_gt(rd[i].reads, 0);
        cr_assert_eq(rd[i].went_back, 0, "reader %d saw an older snapshot after a newer", i);
    }
    cr_assert_eq(held->generation, 1);
    cr_assert_eq(held->router.strategy, GW_STRATEGY_FALLBACK);
    cr_assert_eq(held->router.max_attempts, 2, "a held snapshot never changes");
    gw_snap_release(held);
    struct gw_snap *cur = gw_snap_acquire(&gw);
    cr_assert_eq(cur->generation, PUBLISHES + 1);
    gw_snap_release(cur);
    gw_snap_publish(&gw, NULL); /* frees the last: LeakSanitizer checks the rest */
    cr_assert_null(gw_snap_acquire(&gw));
}

Test(snapshot, a_reloaded_router_keeps_the_health_table_unless_latency_settings_change)
{
    struct gw_snap *a = build(routings[0], NULL);
    struct gw_snap *b = build(routings[1], a);
    cr_assert_eq(b->router.stats, a->router.stats, "breakers and latencies carried over");
    cr_assert_eq(b->router.strategy, GW_STRATEGY_SINGLE);
    struct gw_snap *c = build(routings[2], b);
    cr_assert_neq(c->router.stats, b->router.stats, "another latency window: a fresh table");
    gw_snap_release(a); /* b still uses the shared table */
    cr_assert_eq(b->router.latency_window, 32);
    gw_snap_release(b);
    gw_snap_release(c);
}

Test(snapshot, a_bad_routing_builds_nothing)
{
    struct gw_config c;
    gw_config_defaults(&c);
    c.root = cJSON_Parse("{\"routing\":{\"strategy\":\"nope\"}}");
    c.routing = (cJSON *)gw_config_get(c.root, "routing");
    struct gw_snap *s = NULL;
    char err[256] = "";
    cr_assert_lt(gw_snap_new(&s, &c, &none, NULL, NULL, NULL, err, sizeof err), 0);
    cr_assert_null(s);
    cr_assert(strstr(err, "routing.strategy"), "%s", err);
    gw_config_free(&c);
}
