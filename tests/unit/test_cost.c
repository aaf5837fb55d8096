/*
 * Unit tests for core/cost.c: the arithmetic of every pricing shape (plain, cached read, cache
 * write, reasoning, tiers above a threshold, regions, per image, per second), the rule that an
 * unknown price or unknown token counts give no cost (never 0), and the shared formatting.
 * Prices come from small catalogs written here, so every expected value is worked by hand.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"

/* JSON with ' for " keeps the catalogs below readable. */
static struct gw_catalog *catalog_of(const char *models)
{
    char text[8192], err[256] = "";
    int n =
        snprintf(text, sizeof text, "{'format':'aigw-catalog','version':1,'models':[%s]}", models);
    cr_assert(n > 0 && (size_t)n < sizeof text);
    for (char *p = text; *p; p++)
        if (*p == '\'')
            *p = '"';
    struct gw_catalog *cat = NULL;
    int rc = gw_catalog_parse(text, strlen(text), "test", &cat, err, sizeof err);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
    return cat;
}

static struct aigw_usage usage(int64_t prompt, int64_t completion, int64_t cached, int64_t written,
                               int64_t reasoning)
{
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = prompt;
    u.completion_tokens = completion;
    u.cached_tokens = cached;
    u.cache_write_tokens = written;
    u.reasoning_tokens = reasoning;
    return u;
}

/* Exact to the last few bits: the expected values are computed the same way (tokens x price,
 * summed, / 1e6), and the tolerance only absorbs the order of the additions. */
#define assert_usd(got, want)                                                                      \
    cr_assert(fabs((got) - (want)) <= 1e-12 * fmax(1.0, fabs(want)), "got %.15g, want %.15g",      \
              (double)(got), (double)(want))

static struct gw_catalog *cat;

static void setup(void)
{
    cat = catalog_of(
        "{'provider':'t','model':'plain','mode':'chat','in':2.5,'out':10},"
        "{'provider':'t','model':'cached','mode':'chat','in':3,'out':15,'cache_read':0.3},"
        "{'provider':'t','model':'anthropic-like','mode':'chat','in':3,'out':15,"
        " 'cache_read':0.3,'cache_write':3.75,'cache_write_1h':6},"
        "{'provider':'t','model':'no-cache-prices','mode':'chat','in':1,'out':2},"
        "{'provider':'t','model':'reasoner','mode':'chat','in':1,'out':4,'reasoning':8},"
        "{'provider':'t','model':'tiered','mode':'chat','in':1.25,'out':10,'cache_read':0.125,"
        " 'tiers':[{'above':200000,'in':2.5,'out':15}]},"
        "{'provider':'t','model':'two-tiers','mode':'chat','in':1,'out':2,'cache_read':0.1,"
        " 'tiers':[{'above':128000,'in':2,'out':4,'cache_read':0.2},"
        "          {'above':272000,'in':3,'out':6,'cache_read':0.3}]},"
        "{'provider':'t','model':'zoned','mode':'chat','in':5,'out':30,"
        " 'regions':{'eu':{'in':5.5,'out':33}}},"
        "{'provider':'t','model':'embed','mode':'embedding','in':0.02},"
        "{'provider':'t','model':'free','mode':'chat','in':0,'out':0},"
        "{'provider':'t','model':'in-only','mode':'chat','in':1},"
        "{'provider':'t','model':'unpriced','mode':'chat','context':8192},"
        "{'provider':'t','model':'painter','mode':'image_generation','per_image':0.04,"
        " 'image_prices':{'hd/1024x1792':0.12,'hd':0.08,'1792x1024':0.08}},"
        "{'provider':'t','model':'pixels','mode':'image_generation','per_pixel':2e-8},"
        "{'provider':'t','model':'listener','mode':'audio_transcription','per_second':0.0001}");
}

static void teardown(void)
{
    gw_catalog_free(cat);
}

static const struct gw_model *M(const char *id)
{
    const struct gw_model *m = gw_catalog_get(cat, "t", id);
    cr_assert_not_null(m, "no test entry %s", id);
    return m;
}

TestSuite(cost, .init = setup, .fini = teardown);

Test(cost, plain_input_and_output)
{
    struct aigw_usage u = usage(1000, 500, -1, -1, -1);
    double c = -1;
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, (1000 * 2.5 + 500 * 10.0) / 1e6); /* 0.0075 */
    assert_usd(c, 0.0075);
}

Test(cost, cached_tokens_are_inside_prompt_and_counted_once)
{
    /* 1000 prompt tokens of which 600 came from the cache: 400 at in, 600 at cache_read. */
    struct aigw_usage u = usage(1000, 200, 600, 0, 0);
    double c;
    cr_assert_eq(gw_cost_usd(M("cached"), &u, &c), 0);
    assert_usd(c, (400 * 3.0 + 600 * 0.3 + 200 * 15.0) / 1e6);
}

Test(cost, cache_write_at_its_own_price)
{
    /* Anthropic after normalization: prompt = input 100 + read 300 + written 600. */
    struct aigw_usage u = usage(1000, 50, 300, 600, -1);
    double c;
    cr_assert_eq(gw_cost_usd(M("anthropic-like"), &u, &c), 0);
    assert_usd(c, (100 * 3.0 + 300 * 0.3 + 600 * 3.75 + 50 * 15.0) / 1e6);
}

Test(cost, cache_counts_without_cache_prices_fall_back_to_input)
{
    struct aigw_usage u = usage(1000, 10, 300, 200, 0);
    double c;
    cr_assert_eq(gw_cost_usd(M("no-cache-prices"), &u, &c), 0);
    assert_usd(c, (1000 * 1.0 + 10 * 2.0) / 1e6);
}

Test(cost, cache_counts_larger_than_prompt_are_clamped)
{
    /* A confused upstream: never a negative uncached part, never more than prompt charged. */
    struct aigw_usage u = usage(100, 0, 80, 50, 0);
    double c;
    cr_assert_eq(gw_cost_usd(M("anthropic-like"), &u, &c), 0);
    assert_usd(c, (80 * 0.3 + 20 * 3.75) / 1e6);
}

Test(cost, reasoning_is_part_of_completion)
{
    struct aigw_usage u = usage(100, 500, 0, 0, 200);
    double c;
    /* No separate price: all 500 completion tokens at out, reasoning not added again. */
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, (100 * 2.5 + 500 * 10.0) / 1e6);
    /* Separate price: 300 at out, 200 at reasoning. */
    cr_assert_eq(gw_cost_usd(M("reasoner"), &u, &c), 0);
    assert_usd(c, (100 * 1.0 + 300 * 4.0 + 200 * 8.0) / 1e6);
}

Test(cost, tier_applies_strictly_above_the_threshold)
{
    double c;
    struct aigw_usage at = usage(200000, 1000, 0, 0, 0);
    cr_assert_eq(gw_cost_usd(M("tiered"), &at, &c), 0);
    assert_usd(c, (200000 * 1.25 + 1000 * 10.0) / 1e6);

    struct aigw_usage above = usage(200001, 1000, 0, 0, 0);
    cr_assert_eq(gw_cost_usd(M("tiered"), &above, &c), 0);
    assert_usd(c, (200001 * 2.5 + 1000 * 15.0) / 1e6);
}

Test(cost, tier_threshold_counts_cached_tokens_and_keeps_missing_tier_prices)
{
    /* 150k cached + 60k fresh = 210k prompt: above the tier. The tier has no cache_read, so
     * the cached part keeps the base cache_read price. */
    struct aigw_usage u = usage(210000, 100, 150000, 0, 0);
    double c;
    cr_assert_eq(gw_cost_usd(M("tiered"), &u, &c), 0);
    assert_usd(c, (60000 * 2.5 + 150000 * 0.125 + 100 * 15.0) / 1e6);
}

Test(cost, highest_matching_tier_wins)
{
    double c;
    struct aigw_usage low = usage(100000, 10, 1000, 0, 0);
    cr_assert_eq(gw_cost_usd(M("two-tiers"), &low, &c), 0);
    assert_usd(c, (99000 * 1.0 + 1000 * 0.1 + 10 * 2.0) / 1e6);
    struct aigw_usage mid = usage(200000, 10, 1000, 0, 0);
    cr_assert_eq(gw_cost_usd(M("two-tiers"), &mid, &c), 0);
    assert_usd(c, (199000 * 2.0 + 1000 * 0.2 + 10 * 4.0) / 1e6);
    struct aigw_usage high = usage(300000, 10, 1000, 0, 0);
    cr_assert_eq(gw_cost_usd(M("two-tiers"), &high, &c), 0);
    assert_usd(c, (299000 * 3.0 + 1000 * 0.3 + 10 * 6.0) / 1e6);
}

/* ABI 1.5: a cost the provider stated is the request's cost, the counts beside it unpriced
 * (they are inside it), with or without a catalog entry; 0 or garbage states nothing. */
Test(cost, stated_cost_wins_over_the_counts)
{
    struct aigw_usage u = usage(1000, 500, -1, -1, -1);
    double c = -1;
    u.cost_usd = 0.01234;
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, 0.01234);
    cr_assert_eq(gw_cost_usd_region(M("zoned"), "eu", &u, &c), 0);
    assert_usd(c, 0.01234);
    cr_assert_eq(gw_cost_usd(NULL, &u, &c), 0);
    assert_usd(c, 0.01234);
    u.cost_usd = 0;
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, 0.0075);
    cr_assert_eq(gw_cost_usd(NULL, &u, &c), GW_COST_UNKNOWN);
    u.cost_usd = NAN;
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, 0.0075);
    u.cost_usd = -3;
    cr_assert_eq(gw_cost_usd(M("plain"), &u, &c), 0);
    assert_usd(c, 0.0075);
}

Test(cost, region_prices)
{
    struct aigw_usage u = usage(1000, 1000, 0, 0, 0);
    double c;
    cr_assert_eq(gw_cost_usd_region(M("zoned"), "eu", &u, &c), 0);
    assert_usd(c, (1000 * 5.5 + 1000 * 33.0) / 1e6);
    cr_assert_eq(gw_cost_usd_region(M("zoned"), "EU", &u, &c), 0);
    assert_usd(c, (1000 * 5.5 + 1000 * 33.0) / 1e6);
    /* A region the entry does not list, or none: the entry's own prices. */
    cr_assert_eq(gw_cost_usd_region(M("zoned"), "us", &u, &c), 0);
    assert_usd(c, (1000 * 5.0 + 1000 * 30.0) / 1e6);
    cr_assert_eq(gw_cost_usd_region(M("zoned"), NULL, &u, &c), 0);
    assert_usd(c, 0.035);
}

Test(cost, embeddings_need_no_completion_count)
{
    struct aigw_usage u = usage(5000, -1, -1, -1, -1);
    double c;
    cr_assert_eq(gw_cost_usd(M("embed"), &u, &c), 0);
    assert_usd(c, 5000 * 0.02 / 1e6);
}

Test(cost, free_is_zero_but_unknown_is_absent)
{
    struct aigw_usage u = usage(1000, 1000, 0, 0, 0);
    double c = 42;
    cr_assert_eq(gw_cost_usd(M("free"), &u, &c), 0);
    cr_assert(c == 0.0);

    c = 42;
    cr_assert_eq(gw_cost_usd(M("unpriced"), &u, &c), GW_COST_UNKNOWN);
    cr_assert(c == 42, "an unknown cost must leave *out alone");
    struct aigw_usage none = usage(0, 0, 0, 0, 0);
    cr_assert_eq(gw_cost_usd(M("unpriced"), &none, &c), GW_COST_UNKNOWN);
    cr_assert_eq(gw_cost_usd(NULL, &u, &c), GW_COST_UNKNOWN);

    /* Output tokens but no output price: unknown. No output tokens: known. */
    cr_assert_eq(gw_cost_usd(M("in-only"), &u, &c), GW_COST_UNKNOWN);
    struct aigw_usage prompt_only = usage(1000, 0, 0, 0, 0);
    cr_assert_eq(gw_cost_usd(M("in-only"), &prompt_only, &c), 0);
    assert_usd(c, 0.001);
}

Test(cost, unreported_counts_give_no_cost)
{
    double c = 42;
    struct aigw_usage no_prompt = usage(-1, 10, -1, -1, -1);
    cr_assert_lt(gw_cost_usd(M("plain"), &no_prompt, &c), 0);
    struct aigw_usage no_completion = usage(10, -1, -1, -1, -1);
    cr_assert_lt(gw_cost_usd(M("plain"), &no_completion, &c), 0);
    cr_assert(c == 42);
    cr_assert_lt(gw_cost_usd(M("plain"), NULL, &c), 0);
}

Test(cost, images_by_variant_then_default_then_pixels)
{
    double c;
    cr_assert_eq(gw_cost_images_usd(M("painter"), "hd", "1024x1792", 2, &c), 0);
    assert_usd(c, 0.24);
    cr_assert_eq(gw_cost_images_usd(M("painter"), "HD", "1024x1024", 1, &c), 0);
    assert_usd(c, 0.08); /* "hd" alone */
    cr_assert_eq(gw_cost_images_usd(M("painter"), NULL, "1792x1024", 3, &c), 0);
    assert_usd(c, 0.24); /* size alone */
    cr_assert_eq(gw_cost_images_usd(M("painter"), "standard", "1024x1024", 1, &c), 0);
    assert_usd(c, 0.04); /* the entry's per-image price */
    cr_assert_eq(gw_cost_images_usd(M("pixels"), NULL, "1024x1024", 1, &c), 0);
    assert_usd(c, 2e-8 * 1024 * 1024);
    cr_assert_eq(gw_cost_images_usd(M("pixels"), NULL, "auto", 1, &c), GW_COST_UNKNOWN);
    cr_assert_eq(gw_cost_images_usd(M("plain"), "hd", "1024x1024", 1, &c), GW_COST_UNKNOWN);
    cr_assert_lt(gw_cost_images_usd(M("painter"), NULL, NULL, -1, &c), 0);
}

Test(cost, per_second_and_other_units)
{
    double c;
    cr_assert_eq(gw_cost_units_usd(M("listener"), GW_UNIT_SECOND, 90.5, &c), 0);
    assert_usd(c, 90.5 * 0.0001);
    cr_assert_eq(gw_cost_units_usd(M("listener"), GW_UNIT_CHARACTER, 10, &c), GW_COST_UNKNOWN);
    cr_assert_lt(gw_cost_units_usd(M("listener"), GW_UNIT_SECOND, -1, &c), 0);
    cr_assert_lt(gw_cost_units_usd(M("listener"), GW_UNIT_COUNT, 1, &c), 0);
}

Test(cost, format_is_plain_decimal)
{
    char b[32];
    cr_assert_eq(gw_cost_format(0.0075, b, sizeof b), 6);
    cr_assert_str_eq(b, "0.0075");
    gw_cost_format(1.5, b, sizeof b);
    cr_assert_str_eq(b, "1.5");
    gw_cost_format(0, b, sizeof b);
    cr_assert_str_eq(b, "0");
    gw_cost_format(12, b, sizeof b);
    cr_assert_str_eq(b, "12");
    gw_cost_format(0.00000042, b, sizeof b);
    cr_assert_str_eq(b, "0.00000042");
    cr_assert_eq(gw_cost_format(-1, b, sizeof b), -1);
    cr_assert_eq(gw_cost_format(NAN, b, sizeof b), -1);
    cr_assert_eq(gw_cost_format(123.25, b, 4), -1);
}

/* The real catalog, priced the way a request would be. */
Test(cost, real_catalog_entries)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/catalog/models.json", src ? src : ".");
    struct gw_catalog *real = NULL;
    cr_assert_eq(gw_catalog_load(path, &real, err, sizeof err), 0, "%s", err);
    double c;

    /* claude-opus-4-8: in 5, out 25, cache read 0.5, cache write 6.25 (USD / 1M). */
    const struct gw_model *m = gw_catalog_find(real, "anthropic", "claude-opus-4-8");
    cr_assert_not_null(m);
    struct aigw_usage a = usage(10000, 2000, 4000, 1000, 500);
    cr_assert_eq(gw_cost_usd(m, &a, &c), 0);
    assert_usd(c, (5000 * 5.0 + 4000 * 0.5 + 1000 * 6.25 + 2000 * 25.0) / 1e6);

    /* gpt-5.5 above 272k prompt tokens: in 10, out 45, cache read 1. */
    m = gw_catalog_find(real, "openai", "gpt-5.5");
    cr_assert_not_null(m);
    struct aigw_usage big = usage(300000, 1000, 100000, -1, -1);
    cr_assert_eq(gw_cost_usd(m, &big, &c), 0);
    assert_usd(c, (200000 * 10.0 + 100000 * 1.0 + 1000 * 45.0) / 1e6);

    /* whisper-1 per second; dall-e-3 per image by quality and size. */
    m = gw_catalog_find(real, "openai", "whisper-1");
    cr_assert_eq(gw_cost_units_usd(m, GW_UNIT_SECOND, 60, &c), 0);
    assert_usd(c, 0.006);
    m = gw_catalog_find(real, "openai", "dall-e-3");
    cr_assert_eq(gw_cost_images_usd(m, "hd", "1024x1792", 1, &c), 0);
    assert_usd(c, 0.12);
    cr_assert_eq(gw_cost_images_usd(m, "standard", "1024x1024", 1, &c), 0);
    assert_usd(c, 0.04);
    gw_catalog_free(real);
}

/* gw_fixed_format stands in for snprintf's "%.Nf" on the answer's X-Gateway-Cost header and
 * the access log: every byte must match, halves and the values it hands back to snprintf
 * included. The values are a fixed pseudo-random sweep (same every run) plus the edges. */
static void same_as_printf(double v, int digits)
{
    char want[512], got[512];
    int wn = snprintf(want, sizeof want, "%.*f", digits, v);
    int gn = gw_fixed_format(v, digits, got, sizeof got);
    cr_assert_eq(gn, wn, "%.17g at %d digits: length %d, printf %d", v, digits, gn, wn);
    cr_assert_str_eq(got, want, "%.17g at %d digits", v, digits);
}

Test(cost, fixed_format_is_printf_byte_for_byte)
{
    static const double edge[] = {0,       -0.0,     1,         0.5,      0.125,     2.5,
                                  1e-9,    5e-9,     4.9999999e-9, 0.000000015, 0.000000025,
                                  -1e-12,  -3.25,    1e11,      1.0995e12, 1e13,  1e300,
                                  INFINITY, -INFINITY, NAN,     0.99999999, 0.999999995,
                                  9.999999995, 123.456789125, 0.0075, 0.00000042};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        for (int d = 0; d <= 10; d++)
            same_as_printf(edge[i], d);
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
        double scale[] = {1e-6, 1e-3, 1, 1e3, 1e6};
        v *= scale[i % 5];
        same_as_printf(v, 8);
        same_as_printf(v, 10);
        /* the exact halves the rounding must leave to printf */
        double half = (floor(v * 1e8) + 0.5) / 1e8;
        same_as_printf(half, 8);
        same_as_printf(nextafter(half, 0), 8);
        same_as_printf(nextafter(half, 1e9), 8);
    }
    char small[4];
    cr_assert_eq(gw_fixed_format(0.5, 8, small, sizeof small), -1);
    cr_assert_eq(gw_fixed_format(1, 11, small, sizeof small), -1);
}
