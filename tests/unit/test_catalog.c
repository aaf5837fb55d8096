/*
 * Unit tests for the model catalog (core/catalog*.c): the shipped catalog/models.json (counts
 * per provider, every entry loaded, known facts, load time printed), lookups and their id
 * fallbacks, the per-provider lists, config overrides (add, edit, clear, all-or-nothing), and
 * malformed files that must fail with a clear message instead of crashing.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "catalog/catalog.h"

static const char *const builtin[] = {"openai",       "anthropic",     "gemini",      "mistral",
                                      "groq",         "cohere",        "deepseek",    "together",
                                      "perplexity",   "fireworks",     "ai21",        "xai",
                                      "azure-openai", "azure-foundry", "ollama",      "bedrock",
                                      "replicate",    "vertex-ai",     "hugging-face"};

static void shipped_path(char *buf, size_t len)
{
    const char *src = getenv("AIGW_TEST_SRCDIR");
    snprintf(buf, len, "%s/catalog/models.json", src ? src : ".");
}

static struct gw_catalog *load_shipped(void)
{
    char path[4096], err[512] = "";
    struct gw_catalog *cat = NULL;
    shipped_path(path, sizeof path);
    cr_assert_eq(gw_catalog_load(path, &cat, err, sizeof err), 0, "%s", err);
    return cat;
}

/* ' for " keeps inline JSON readable. */
static char *dq(const char *s)
{
    char *d = strdup(s);
    cr_assert_not_null(d);
    for (char *p = d; *p; p++)
        if (*p == '\'')
            *p = '"';
    return d;
}

static int parse(const char *single_quoted, struct gw_catalog **out, char *err, size_t errlen)
{
    char *text = dq(single_quoted);
    int rc = gw_catalog_parse(text, strlen(text), "test.json", out, err, errlen);
    free(text);
    return rc;
}

static struct gw_catalog *small(void)
{
    char err[256] = "";
    struct gw_catalog *cat = NULL;
    int rc = parse(
        "{'format':'aigw-catalog','version':1,'models':["
        "{'provider':'openai','model':'gpt-4o','mode':'chat','context':128000,"
        " 'max_output':16384,'in':2.5,'out':10,'cache_read':1.25,'caps':['tools','vision'],"
        " 'source':'litellm'},"
        "{'provider':'azure-openai','model':'gpt-4o','mode':'chat','in':2.5,'out':10,"
        " 'regions':{'us':{'in':2.75,'out':11},'eu':{'in':2.75,'out':11}}},"
        "{'provider':'anthropic','model':'claude-sonnet-4-5','in':3,'out':15,"
        " 'deprecated':'2026-09-29'},"
        "{'provider':'bedrock','model':'anthropic.claude-sonnet-4-5-20250929-v1:0','in':3},"
        "{'provider':'bedrock','model':'us.anthropic.claude-haiku-4-5-20251001-v1:0','in':1.1},"
        "{'provider':'bedrock','model':'anthropic.claude-haiku-4-5-20251001-v1:0','in':1},"
        "{'provider':'fireworks','model':'accounts/fireworks/models/llama-v3p1-8b-instruct',"
        " 'in':0.2,'out':0.2},"
        "{'provider':'hugging-face','model':'Qwen/Qwen3-32B','in':0.1,'out':0.3},"
        "{'provider':'groq','model':'openai/gpt-oss-120b','in':0.15,'out':0.75},"
        "{'provider':'groq','model':'gpt-oss-120b','in':9,'out':9},"
        "{'provider':'vertex-ai','model':'claude-sonnet-4-5','in':3.3,'out':16.5},"
        "{'provider':'acme-ai','model':'gpt-4o','mode':'chat','in':1,'out':2},"
        "{'provider':'openai','model':'ft:gpt-4o-mini-2024-07-18','in':0.3,'out':1.2}"
        "]}",
        &cat, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    return cat;
}

/* ---- the shipped catalog ---------------------------------------------------------------- */

Test(catalog, shipped_counts_per_provider)
{
    char path[4096];
    shipped_path(path, sizeof path);
    struct timespec t0, t1;
    struct gw_catalog *cat = NULL;
    char err[512] = "";
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = gw_catalog_load(path, &cat, err, sizeof err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_eq(rc, 0, "%s", err);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* Printed, never asserted: timing belongs to bench/. */
    fprintf(stderr, "catalog: %zu entries loaded in %.1f ms\n", gw_catalog_size(cat), ms);

    size_t total = 0;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        const struct gw_model *const *list;
        size_t n = gw_catalog_list(cat, builtin[i], &list);
        fprintf(stderr, "catalog: %-14s %5zu\n", builtin[i], n);
        cr_assert_geq(n, 1, "no catalog entries for built-in provider %s", builtin[i]);
        for (size_t k = 0; k < n; k++)
            cr_assert_str_eq(list[k]->provider, builtin[i]);
        total += n;
    }
    const char *const *names;
    size_t np = gw_catalog_providers(cat, &names);
    fprintf(stderr, "catalog: %zu built in, %zu entries of %zu other providers\n", total,
            gw_catalog_size(cat) - total, np - sizeof builtin / sizeof builtin[0]);
    cr_assert_geq(gw_catalog_size(cat), 2500);
    cr_assert_gt(np, sizeof builtin / sizeof builtin[0], "third-party providers were dropped");
    gw_catalog_free(cat);
}

Test(catalog, shipped_every_entry_is_loaded)
{
    /* The file says how many entries it has; the loader must keep all of them. */
    char path[4096];
    shipped_path(path, sizeof path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    char head[1024] = "";
    cr_assert_gt(fread(head, 1, sizeof head - 1, f), 0);
    fclose(f);
    const char *c = strstr(head, "\"count\":");
    cr_assert_not_null(c);
    long want = strtol(c + 8, NULL, 10);
    struct gw_catalog *cat = load_shipped();
    cr_assert_eq((long)gw_catalog_size(cat), want);
    gw_catalog_free(cat);
}

static int ntiers(const struct gw_price *p)
{
    return p->more ? p->more->ntiers : 0;
}

/* The price at key in obj as the file says it: absent or null is unknown. */
static double price_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : GW_PRICE_UNKNOWN;
}

/* Every field of one price table is bit for bit the file's, and the rare ones are out of
 * line exactly when the file gives one of them. */
static void check_price(const struct gw_price *p, const cJSON *obj, const char *what)
{
    static const char *const units[GW_UNIT_COUNT] = {"per_image", "per_second", "per_character",
                                                     "per_query", "per_page",   "per_request",
                                                     "per_pixel"};
    cr_assert(p->in == price_of(obj, "in"), "%s: in", what);
    cr_assert(p->out == price_of(obj, "out"), "%s: out", what);
    cr_assert(p->cache_read == price_of(obj, "cache_read"), "%s: cache_read", what);
    cr_assert(p->cache_write == price_of(obj, "cache_write"), "%s: cache_write", what);
    double w1h = price_of(obj, "cache_write_1h"), rp = price_of(obj, "reasoning");
    int rare = w1h >= 0 || rp >= 0;
    cr_assert(p->unit != NULL, "%s: unit", what);
    for (int i = 0; i < GW_UNIT_COUNT; i++) {
        double u = price_of(obj, units[i]);
        cr_assert(p->unit[i] == u, "%s: %s", what, units[i]);
        rare |= u >= 0;
    }
    const cJSON *tiers = cJSON_GetObjectItemCaseSensitive(obj, "tiers");
    int n = cJSON_IsArray(tiers) ? cJSON_GetArraySize(tiers) : 0;
    rare |= n > 0;
    cr_assert_eq(p->more != NULL, rare, "%s: out-of-line fields", what);
    if (!p->more)
        return;
    cr_assert(p->more->cache_write_1h == w1h, "%s: cache_write_1h", what);
    cr_assert(p->more->reasoning == rp, "%s: reasoning", what);
    cr_assert(p->unit == p->more->unit, "%s: unit", what);
    cr_assert_eq(p->more->ntiers, n, "%s: tiers", what);
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetArrayItem(tiers, i);
        const struct gw_price_tier *g = &p->more->tiers[i];
        cr_assert(g->above == (int64_t)price_of(t, "above"), "%s: tier %d", what, i);
        cr_assert(g->in == price_of(t, "in") && g->out == price_of(t, "out") &&
                      g->cache_read == price_of(t, "cache_read") &&
                      g->cache_write == price_of(t, "cache_write"),
                  "%s: tier %d", what, i);
    }
}

/* The compact entries hold exactly the file's prices, for every entry shipped. */
Test(catalog, shipped_prices_are_the_files_for_every_entry)
{
    struct gw_catalog *cat = load_shipped();
    char path[4096];
    shipped_path(path, sizeof path);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    cr_assert_gt(len, 0);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    cr_assert_not_null(text);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(doc);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(doc, "models");
    size_t n = 0, more = 0;
    for (const cJSON *e = models ? models->child : NULL; e; e = e->next, n++) {
        const char *prov = cJSON_GetObjectItemCaseSensitive(e, "provider")->valuestring;
        const char *id = cJSON_GetObjectItemCaseSensitive(e, "model")->valuestring;
        char what[640];
        snprintf(what, sizeof what, "%s/%s", prov, id);
        const struct gw_model *m = gw_catalog_get(cat, prov, id);
        cr_assert(m && strcmp(m->id, id) == 0 && strcmp(m->provider, prov) == 0, "%s", what);
        check_price(&m->price, e, what);
        more += m->price.more != NULL;
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(e, "image_prices");
        const cJSON *reg = cJSON_GetObjectItemCaseSensitive(e, "regions");
        size_t nimg = cJSON_IsObject(img) ? (size_t)cJSON_GetArraySize(img) : 0;
        size_t nreg = cJSON_IsObject(reg) ? (size_t)cJSON_GetArraySize(reg) : 0;
        cr_assert_eq(m->more != NULL, nimg || nreg, "%s: out-of-line fields", what);
        cr_assert_eq(m->more ? m->more->nimages : 0, nimg, "%s: image_prices", what);
        cr_assert_eq(m->more ? m->more->nregions : 0, nreg, "%s: regions", what);
        for (const cJSON *v = cJSON_IsObject(img) ? img->child : NULL; v; v = v->next) {
            size_t i = 0;
            while (i < nimg && strcmp(m->more->images[i].variant, v->string) != 0)
                i++;
            cr_assert(i < nimg && m->more->images[i].usd == v->valuedouble, "%s: image %s", what,
                      v->string);
        }
        for (const cJSON *r = cJSON_IsObject(reg) ? reg->child : NULL; r; r = r->next) {
            char rw[700];
            snprintf(rw, sizeof rw, "%s region %s", what, r->string);
            const struct gw_price *rp = gw_model_price(m, r->string);
            cr_assert(rp != &m->price, "%s", rw);
            check_price(rp, r, rw);
        }
    }
    cr_assert_eq(n, gw_catalog_size(cat));
    cr_assert(more > 0 && more < n / 4, "%zu of %zu entries have rare prices", more, n);
    cJSON_Delete(doc);
    gw_catalog_free(cat);
}

Test(catalog, shipped_known_facts)
{
    struct gw_catalog *cat = load_shipped();
    const struct gw_model *m = gw_catalog_get(cat, "anthropic", "claude-opus-4-8");
    cr_assert_not_null(m);
    cr_assert_eq(m->mode, GW_MODE_CHAT);
    cr_assert_eq(m->context, 1000000);
    cr_assert_eq(m->max_output, 128000);
    cr_assert(m->price.in == 5 && m->price.out == 25);
    cr_assert(m->price.cache_read == 0.5 && m->price.cache_write == 6.25);
    cr_assert(m->caps & GW_MCAP_TOOLS && m->caps & GW_MCAP_PROMPT_CACHING);

    m = gw_catalog_get(cat, "openai", "gpt-5.5");
    cr_assert_not_null(m);
    cr_assert_eq(ntiers(&m->price), 1);
    cr_assert_eq(m->price.more->tiers[0].above, 272000);
    cr_assert(m->price.more->tiers[0].in == 10 && m->price.more->tiers[0].out == 45);

    m = gw_catalog_get(cat, "azure-openai", "gpt-5.5");
    cr_assert_not_null(m);
    cr_assert(gw_model_price(m, "eu")->in == 5.5);

    m = gw_catalog_get(cat, "openai", "whisper-1");
    cr_assert_not_null(m);
    cr_assert_eq(m->mode, GW_MODE_AUDIO_TRANSCRIPTION);
    cr_assert(m->price.unit[GW_UNIT_SECOND] == 0.0001);
    cr_assert(m->price.in < 0, "whisper has no token price: unknown, not 0");

    m = gw_catalog_get(cat, "hugging-face", "deepseek-ai/DeepSeek-V4-Pro");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->source, "models.dev");
    m = gw_catalog_get(cat, "openai", "text-embedding-3-small");
    cr_assert_not_null(m);
    cr_assert_eq(m->mode, GW_MODE_EMBEDDING);
    gw_catalog_free(cat);
}

/* ---- lookups ---------------------------------------------------------------------------- */

Test(catalog, exact_and_case_insensitive)
{
    struct gw_catalog *cat = small();
    const struct gw_model *m = gw_catalog_get(cat, "openai", "gpt-4o");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->id, "gpt-4o");
    cr_assert_eq(m->context, 128000);
    cr_assert_eq(m->caps, GW_MCAP_TOOLS | GW_MCAP_VISION);
    cr_assert_str_eq(m->source, "litellm");
    cr_assert_eq(gw_catalog_get(cat, "openai", "GPT-4O"), m);
    cr_assert_null(gw_catalog_get(cat, "openai", "gpt-4"));
    cr_assert_null(gw_catalog_get(cat, "nobody", "gpt-4o"));
    cr_assert_null(gw_catalog_get(NULL, "openai", "gpt-4o"));
    m = gw_catalog_get(cat, "anthropic", "claude-sonnet-4-5");
    cr_assert(m->deprecated && strcmp(m->deprecated_on, "2026-09-29") == 0);
    cr_assert_eq(m->context, -1, "absent limits are unknown");
    cr_assert(m->price.cache_read < 0);
    gw_catalog_free(cat);
}

Test(catalog, id_variants)
{
    struct gw_catalog *cat = small();
    const struct gw_model *m;
    /* provider prefix of the same vkey */
    m = gw_catalog_find(cat, "openai", "openai/gpt-4o");
    cr_assert(m && strcmp(m->id, "gpt-4o") == 0);
    /* ...but a real id that contains a slash wins over stripping */
    m = gw_catalog_find(cat, "groq", "openai/gpt-oss-120b");
    cr_assert(m && m->price.in == 0.15);
    /* Bedrock geo prefix: the prefixed id when listed, else the plain one */
    m = gw_catalog_find(cat, "bedrock", "us.anthropic.claude-haiku-4-5-20251001-v1:0");
    cr_assert(m && m->price.in == 1.1);
    m = gw_catalog_find(cat, "bedrock", "eu.anthropic.claude-haiku-4-5-20251001-v1:0");
    cr_assert(m && strcmp(m->id, "anthropic.claude-haiku-4-5-20251001-v1:0") == 0);
    m = gw_catalog_find(cat, "bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0");
    cr_assert(m && strcmp(m->id, "anthropic.claude-sonnet-4-5-20250929-v1:0") == 0);
    /* dated Anthropic / Vertex ids */
    m = gw_catalog_find(cat, "anthropic", "claude-sonnet-4-5-20250929");
    cr_assert(m && strcmp(m->id, "claude-sonnet-4-5") == 0);
    m = gw_catalog_find(cat, "anthropic", "anthropic/claude-sonnet-4-5-20250929");
    cr_assert(m && strcmp(m->id, "claude-sonnet-4-5") == 0);
    m = gw_catalog_find(cat, "vertex-ai", "claude-sonnet-4-5@20250929");
    cr_assert(m && strcmp(m->id, "claude-sonnet-4-5") == 0);
    m = gw_catalog_find(cat, "anthropic", "claude-sonnet-4-5-2025-09-29");
    cr_assert(m && strcmp(m->id, "claude-sonnet-4-5") == 0);
    /* Fireworks short ids; Hugging Face router suffixes */
    m = gw_catalog_find(cat, "fireworks", "llama-v3p1-8b-instruct");
    cr_assert(m && strstr(m->id, "accounts/fireworks/models/") == m->id);
    m = gw_catalog_find(cat, "hugging-face", "Qwen/Qwen3-32B:cerebras");
    cr_assert(m && strcmp(m->id, "Qwen/Qwen3-32B") == 0);
    m = gw_catalog_find(cat, "hugging-face", "qwen/qwen3-32b:fastest");
    cr_assert(m && strcmp(m->id, "Qwen/Qwen3-32B") == 0);
    /* fine-tuned OpenAI models are billed at their base's fine-tune price */
    m = gw_catalog_find(cat, "openai", "ft:gpt-4o-mini-2024-07-18:acme::BkX31f");
    cr_assert(m && strcmp(m->id, "ft:gpt-4o-mini-2024-07-18") == 0);
    /* no false friends */
    cr_assert_null(gw_catalog_find(cat, "bedrock", "anthropic.claude-haiku-4-5-20251001-v1:1"));
    cr_assert_null(gw_catalog_find(cat, "anthropic", "claude-sonnet-4-6-20250929"));
    cr_assert_null(gw_catalog_find(cat, "openai", "mistral/gpt-4o"));
    cr_assert_null(gw_catalog_find(cat, "openai", ""));
    gw_catalog_free(cat);
}

Test(catalog, every_provider_of_an_id)
{
    struct gw_catalog *cat = small();
    const struct gw_model *out[8];
    size_t n = gw_catalog_find_all(cat, "gpt-4o", out, 8);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(out[0]->provider, "acme-ai");
    cr_assert_str_eq(out[1]->provider, "azure-openai");
    cr_assert_str_eq(out[2]->provider, "openai");
    cr_assert_eq(gw_catalog_find_all(cat, "GPT-4o", out, 1), 3, "count beyond max");
    cr_assert_eq(gw_catalog_find_all(cat, "gpt-5", out, 8), 0);
    gw_catalog_free(cat);
}

Test(catalog, lists_and_regions)
{
    struct gw_catalog *cat = small();
    const struct gw_model *const *list;
    size_t n = gw_catalog_list(cat, "bedrock", &list);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0]->id, "anthropic.claude-haiku-4-5-20251001-v1:0");
    cr_assert_str_eq(list[1]->id, "anthropic.claude-sonnet-4-5-20250929-v1:0");
    cr_assert_str_eq(list[2]->id, "us.anthropic.claude-haiku-4-5-20251001-v1:0");
    cr_assert_eq(gw_catalog_list(cat, "nobody", &list), 0);
    cr_assert_null(list);
    const char *const *names;
    n = gw_catalog_providers(cat, &names);
    cr_assert_eq(n, 9);
    for (size_t i = 1; i < n; i++)
        cr_assert_lt(strcmp(names[i - 1], names[i]), 0);
    const struct gw_model *m = gw_catalog_get(cat, "azure-openai", "gpt-4o");
    cr_assert(m->more && m->more->nregions == 2);
    cr_assert_str_eq(m->more->regions[0].region, "eu");
    cr_assert(gw_model_price(m, "us")->out == 11);
    cr_assert(gw_model_price(m, "us")->cache_read < 0);
    cr_assert_eq(gw_model_price(m, "apac"), &m->price);
    gw_catalog_free(cat);
}

Test(catalog, default_path)
{
    setenv(GW_CATALOG_ENV, "/tmp/elsewhere.json", 1);
    cr_assert_str_eq(gw_catalog_default_path(), "/tmp/elsewhere.json");
    setenv(GW_CATALOG_ENV, "", 1);
    const char *p = gw_catalog_default_path();
    unsetenv(GW_CATALOG_ENV);
    cr_assert_str_eq(p + strlen(p) - strlen("/models.json"), "/models.json");
    cr_assert_str_eq(gw_catalog_default_path(), p);
}

/* ---- overrides from the config ----------------------------------------------------------- */

static int merge(struct gw_catalog *cat, const char *single_quoted, char *err, size_t errlen)
{
    char *text = dq(single_quoted);
    cJSON *j = cJSON_Parse(text);
    free(text);
    cr_assert_not_null(j, "bad test JSON");
    int rc = gw_catalog_merge(cat, j, "aigw.json: catalog", err, errlen);
    cJSON_Delete(j);
    return rc;
}

Test(catalog, override_edits_adds_and_clears)
{
    struct gw_catalog *cat = small();
    const struct gw_model *before = gw_catalog_get(cat, "openai", "gpt-4o");
    char err[256] = "";
    int rc = merge(cat,
                   "[{'provider':'openai','model':'gpt-4o','in':2,'out':8,'cache_read':null},"
                   " {'provider':'local','model':'llama-3.3-70b','mode':'chat','context':131072,"
                   "  'in':0,'out':0},"
                   " {'provider':'openai','model':'gpt-4o','caps':['tools','json_schema']}]",
                   err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const struct gw_model *m = gw_catalog_get(cat, "openai", "gpt-4o");
    cr_assert_eq(m, before, "entries keep their address");
    cr_assert(m->price.in == 2 && m->price.out == 8);
    cr_assert(m->price.cache_read < 0, "null clears");
    cr_assert_eq(m->context, 128000, "fields not named are kept");
    cr_assert_eq(m->caps, GW_MCAP_TOOLS | GW_MCAP_JSON_SCHEMA, "later override on top");
    cr_assert_str_eq(m->source, "config");
    m = gw_catalog_find(cat, "local", "llama-3.3-70b");
    cr_assert(m && m->price.in == 0 && m->context == 131072);
    const struct gw_model *const *list;
    cr_assert_eq(gw_catalog_list(cat, "local", &list), 1);
    cr_assert_eq(gw_catalog_size(cat), 14);
    gw_catalog_free(cat);
}

Test(catalog, override_keyed_object_and_empty_catalog)
{
    struct gw_catalog *cat = gw_catalog_new();
    cr_assert_not_null(cat);
    cr_assert_null(gw_catalog_get(cat, "openai", "gpt-4o"));
    char err[256] = "";
    int rc = merge(cat,
                   "{'my-vllm/qwen3-32b':{'mode':'chat','in':0.05,'out':0.1,"
                   "  'tiers':[{'above':32000,'in':0.1,'out':0.2}]},"
                   " 'openai/gpt-4o':{'in':2.5,'out':10,'regions':{'eu':{'in':2.75}}}}",
                   err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(gw_catalog_size(cat), 2);
    const struct gw_model *m = gw_catalog_get(cat, "my-vllm", "qwen3-32b");
    cr_assert(m && ntiers(&m->price) == 1 && m->price.more->tiers[0].above == 32000);
    m = gw_catalog_get(cat, "openai", "gpt-4o");
    cr_assert(m && gw_model_price(m, "eu")->in == 2.75);
    gw_catalog_free(cat);
}

/* Tiers live out of line: an override copies the entry (its tiers with it), replaces or
 * clears them, and a failed override leaves the original's intact. ASan checks the frees. */
Test(catalog, tiers_survive_copies_replacements_and_failed_overrides)
{
    struct gw_catalog *cat = gw_catalog_new();
    char err[256] = "";
    cr_assert_eq(merge(cat,
                       "{'p/a':{'mode':'chat','in':1,'out':2,"
                       "  'tiers':[{'above':1000,'in':3},{'above':5000,'in':4}],"
                       "  'regions':{'eu':{'in':1.1,'tiers':[{'above':2000,'out':9}]}}},"
                       " 'p/b':{'mode':'chat','in':1,'tiers':[{'above':10,'in':2}]}}",
                       err, sizeof err),
                 0, "%s", err);
    /* Changing another field copies the entry: both tier tables come along. */
    cr_assert_eq(merge(cat, "{'p/a':{'out':2.5}}", err, sizeof err), 0, "%s", err);
    const struct gw_model *m = gw_catalog_get(cat, "p", "a");
    cr_assert(m && m->price.out == 2.5 && ntiers(&m->price) == 2);
    cr_assert(m->price.more->tiers[1].above == 5000 && m->price.more->tiers[1].in == 4);
    const struct gw_price *eu = gw_model_price(m, "eu");
    cr_assert(eu && ntiers(eu) == 1 && eu->more->tiers[0].out == 9);
    /* Replaced, then cleared. */
    cr_assert_eq(merge(cat, "{'p/a':{'tiers':[{'above':7,'in':8}]},'p/b':{'tiers':null}}", err,
                       sizeof err),
                 0, "%s", err);
    m = gw_catalog_get(cat, "p", "a");
    cr_assert(ntiers(&m->price) == 1 && m->price.more->tiers[0].above == 7);
    cr_assert_eq(ntiers(gw_model_price(m, "eu")), 1, "the region's own tiers stay");
    m = gw_catalog_get(cat, "p", "b");
    cr_assert(ntiers(&m->price) == 0 && (!m->price.more || m->price.more->tiers == NULL));
    /* All or nothing: a bad second entry leaves the first's tiers as they were. */
    cr_assert_lt(merge(cat, "{'p/a':{'tiers':[{'above':1,'in':1}]},'p/b':{'inn':1}}", err,
                       sizeof err),
                 0);
    m = gw_catalog_get(cat, "p", "a");
    cr_assert(ntiers(&m->price) == 1 && m->price.more->tiers[0].above == 7);
    gw_catalog_free(cat);
}

Test(catalog, override_errors_change_nothing)
{
    static const char *const bad[][2] = {
        {"[{'provider':'openai','model':'gpt-4o','in':1},{'provider':'x','model':'y','inn':2}]",
         "aigw.json: catalog: [1] (x/y): \"inn\" is not a catalog field"},
        {"[{'provider':'openai','model':'gpt-4o','in':-1}]", "\"in\" must be a non-negative"},
        {"[{'provider':'openai','model':'gpt-4o','in':'cheap'}]", "\"in\" must be"},
        {"[{'provider':'OpenAI','model':'gpt-4o'}]", "\"provider\" must be a lowercase"},
        {"[{'provider':'openai'}]", "\"model\" must be a model id"},
        {"[{'provider':'openai','model':'gpt-4o','mode':'painting'}]", "not a mode"},
        {"[{'provider':'openai','model':'gpt-4o','caps':['telepathy']}]", "not a capability"},
        {"[{'provider':'openai','model':'gpt-4o','tiers':[{'above':2000,'in':1},"
         "{'above':1000,'in':2}]}]",
         "ascending"},
        {"[{'provider':'openai','model':'gpt-4o','tiers':[{'in':1}]}]", "needs \"above\""},
        {"[{'provider':'openai','model':'gpt-4o','deprecated':'soon'}]", "YYYY-MM-DD"},
        {"[{'provider':'openai','model':'gpt-4o','context':1.5}]", "whole number"},
        {"[{'provider':'openai','model':'gpt-4o','regions':{'eu':{'mode':'chat'}}}]",
         "not a price"},
        {"{'gpt-4o':{'in':1}}", "the key must be \"provider/model\""},
        {"{'openai/gpt-4o':{'model':'gpt-5','in':1}}", "disagree with the key"},
        {"'just a string'", "must be an array of entries or an object"},
        {"[42]", "an entry must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_catalog *cat = small();
        char err[256] = "";
        int rc = merge(cat, bad[i][0], err, sizeof err);
        cr_assert_lt(rc, 0, "accepted: %s", bad[i][0]);
        cr_assert_not_null(strstr(err, bad[i][1]), "case %zu: \"%s\" lacks \"%s\"", i, err,
                           bad[i][1]);
        cr_assert_eq(strncmp(err, "aigw.json: catalog", 18), 0, "%s", err);
        const struct gw_model *m = gw_catalog_get(cat, "openai", "gpt-4o");
        cr_assert(m->price.in == 2.5 && gw_catalog_size(cat) == 13, "case %zu changed", i);
        cr_assert_str_eq(m->source, "litellm");
        gw_catalog_free(cat);
    }
}

/* ---- malformed files ---------------------------------------------------------------------- */

Test(catalog, malformed_files_fail_clearly)
{
    static const char *const bad[][2] = {
        {"", "test.json: not valid JSON (line 1, column 1)"},
        {"{'format':'aigw-catalog','version':1,'models':[\n{'provider':'a','model':'b'},\n{'pro",
         "test.json: not valid JSON (line 3"},
        {"{'format':'aigw-catalog','version':1,'models':[{'provider':'a','model':'b',}]}",
         "not valid JSON"},
        {"{'format':'aigw-catalog','version':1,'models':[]} trailing", "not valid JSON"},
        {"[1,2,3]", "not valid JSON"},
        {"{'models':[]}", "not an aigw model catalog"},
        {"{'format':'litellm','version':1,'models':[]}", "not an aigw model catalog"},
        {"{'format':'aigw-catalog','version':2,'models':[]}", "version 2 is not supported"},
        {"{'format':'aigw-catalog','version':1}", "\"models\" must be an array"},
        {"{'format':'aigw-catalog','version':1,'models':{}}", "\"models\" must be an array"},
        {"{'format':'aigw-catalog','version':1,'models':[{'model':'x'}]}",
         "test.json: models[0]: \"provider\" must be"},
        {"{'format':'aigw-catalog','version':1,'models':[{'provider':'a','model':'b'},"
         "{'provider':'a','model':'c','out':-3}]}",
         "test.json: models[1] (a/c): \"out\" must be a non-negative number"},
        {"{'format':'aigw-catalog','version':1,'models':[{'provider':'a','model':'b'},"
         "{'provider':'a','model':'b'}]}",
         "a/b is listed twice"},
        {"{'format':'aigw-catalog','version':1,'models':[{'provider':'a','model':'b',"
         "'tiers':[{'above':1},{'above':2},{'above':3},{'above':4},{'above':5}]}]}",
         "more than 4 tiers"},
        {"{'format':'aigw-catalog','version':1,'models':[{'provider':'a','model':'b',"
         "'image_prices':{'hd':'x'}}]}",
         "\"image_prices\" must be a non-negative number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct gw_catalog *cat = NULL;
        char err[256] = "";
        int rc = parse(bad[i][0], &cat, err, sizeof err);
        cr_assert_lt(rc, 0, "accepted case %zu", i);
        cr_assert_null(cat);
        cr_assert_not_null(strstr(err, bad[i][1]), "case %zu: \"%s\" lacks \"%s\"", i, err,
                           bad[i][1]);
    }
}

Test(catalog, lenient_about_fields_it_does_not_know)
{
    /* A newer generator may add fields and modes; an older aigw loads the rest. */
    struct gw_catalog *cat = NULL;
    char err[256] = "";
    int rc = parse("{'generator':{'x':[1,{'y':'}]'}]},'format':'aigw-catalog','models':["
                   "{'provider':'a','model':'b','mode':'hologram','caps':['tools','smell'],"
                   " 'new_price':1,'in':1}],'version':1}",
                   &cat, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    const struct gw_model *m = gw_catalog_get(cat, "a", "b");
    cr_assert(m && m->mode == GW_MODE_UNKNOWN && m->caps == GW_MCAP_TOOLS && m->price.in == 1);
    gw_catalog_free(cat);
}

Test(catalog, missing_and_truncated_files)
{
    struct gw_catalog *cat = NULL;
    char err[512] = "";
    int rc = gw_catalog_load("/nonexistent/aigw/models.json", &cat, err, sizeof err);
    cr_assert_lt(rc, 0);
    cr_assert_null(cat);
    cr_assert_not_null(strstr(err, "/nonexistent/aigw/models.json: cannot open"), "%s", err);

    /* The first 100 kB of the real file: cut inside an entry. */
    char path[4096], tmp[] = "/tmp/aigw-catalog-XXXXXX";
    shipped_path(path, sizeof path);
    FILE *in = fopen(path, "rb");
    cr_assert_not_null(in);
    static char buf[100000];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    int fd = mkstemp(tmp);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, buf, n), (ssize_t)n);
    close(fd);
    rc = gw_catalog_load(tmp, &cat, err, sizeof err);
    unlink(tmp);
    cr_assert_lt(rc, 0);
    cr_assert_not_null(strstr(err, "not valid JSON"), "%s", err);
}
