/* route_fixture - shared setup of the routing unit tests (see route_fixture.h). */
#include "route_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "catalog/catalog.h"

#define NPLUG 8

static const char *const vkeys[NPLUG] = {"openai", "azure-openai", "anthropic", "bedrock",
                                         "groq",   "together",     "fireworks", "mistral"};
static struct gw_plugin plugs[NPLUG];
static struct gw_plugin *items[NPLUG];
struct gw_plugins rf_plugins = {items, NPLUG};
struct gw_catalog *rf_catalog;
int64_t rf_now;
static cJSON *configs[64];
static int nconfigs;

/* Sorted by provider, then model, as the catalog format wants. fireworks' entry has no
 * price; groq is the cheapest llama. */
static const char catalog_json[] =
    "{\"format\":\"aigw-catalog\",\"version\":1,\"models\":[\n"
    "{\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-5\",\"mode\":\"chat\",\"in\":3,"
    "\"out\":15},\n"
    "{\"provider\":\"azure-openai\",\"model\":\"gpt-4o\",\"mode\":\"chat\",\"in\":2.5,"
    "\"out\":10},\n"
    "{\"provider\":\"bedrock\",\"model\":\"us.anthropic.claude-sonnet-4-5-20250929-v1:0\","
    "\"mode\":\"chat\",\"in\":3.3,\"out\":16.5},\n"
    "{\"provider\":\"fireworks\",\"model\":\"llama-3.3-70b\",\"mode\":\"chat\"},\n"
    "{\"provider\":\"groq\",\"model\":\"llama-3.3-70b\",\"mode\":\"chat\",\"in\":0.59,"
    "\"out\":0.79},\n"
    "{\"provider\":\"openai\",\"model\":\"gpt-4o\",\"mode\":\"chat\",\"in\":2.5,\"out\":10},\n"
    "{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\",\"mode\":\"chat\",\"in\":0.15,"
    "\"out\":0.6},\n"
    "{\"provider\":\"openai\",\"model\":\"text-embedding-3-small\",\"mode\":\"embedding\","
    "\"in\":0.02},\n"
    "{\"provider\":\"together\",\"model\":\"llama-3.3-70b\",\"mode\":\"chat\",\"in\":0.88,"
    "\"out\":0.88}\n"
    "]}\n";

static int64_t fake_clock(void)
{
    return rf_now;
}

void rf_setup(void)
{
    memset(plugs, 0, sizeof plugs);
    for (int i = 0; i < NPLUG; i++) {
        plugs[i].desc.vkey = vkeys[i];
        plugs[i].desc.name = vkeys[i];
        plugs[i].desc.capabilities = AIGW_CAP_CHAT | AIGW_CAP_STREAM;
        plugs[i].active = strcmp(vkeys[i], "mistral") != 0;
        items[i] = &plugs[i];
    }
    plugs[0].desc.capabilities |= AIGW_CAP_EMBEDDINGS;
    char err[512];
    int rc = gw_catalog_parse(catalog_json, sizeof catalog_json - 1, "test-catalog", &rf_catalog,
                              err, sizeof err);
    cr_assert_eq(rc, 0, "catalog: %s", err);
    rf_now = 1000000;
    nconfigs = 0;
    gw_route_rand_seed(42);
}

void rf_teardown(void)
{
    for (int i = 0; i < nconfigs; i++)
        cJSON_Delete(configs[i]);
    nconfigs = 0;
    gw_catalog_free(rf_catalog);
    rf_catalog = NULL;
}

struct gw_plugin *rf_plugin(const char *vkey)
{
    return gw_plugins_find(&rf_plugins, vkey);
}

void rf_set_active(const char *vkey, int active)
{
    rf_plugin(vkey)->active = active;
}

int rf_router(struct gw_router *r, const char *json, char *err, size_t errsize)
{
    cJSON *j = NULL;
    if (json) {
        j = cJSON_Parse(json);
        cr_assert_not_null(j, "test config is not JSON: %s", json);
        cr_assert_lt(nconfigs, 64);
        configs[nconfigs++] = j; /* the router keeps pointing at its aliases */
    }
    err[0] = '\0';
    int rc = gw_router_init(r, j, &rf_plugins, rf_catalog, err, errsize);
    if (rc == 0)
        r->clock_ms = fake_clock;
    return rc;
}

void rf_router_ok(struct gw_router *r, const char *json)
{
    char err[512];
    int rc = rf_router(r, json, err, sizeof err);
    cr_assert_eq(rc, 0, "config rejected: %s\n%s", err, json ? json : "(none)");
}

const char *rf_router_err(const char *json)
{
    static char err[512];
    struct gw_router r;
    int rc = rf_router(&r, json, err, sizeof err);
    if (rc == 0)
        gw_router_free(&r);
    cr_assert_eq(rc, AIGW_EINVAL, "config accepted: %s", json);
    cr_assert(err[0], "no reason given for %s", json);
    return err;
}

static const char *find_header(void *ud, const char *name)
{
    static _Thread_local char value[256];
    const char *p = ud;
    size_t n = strlen(name);
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n + 1 && !strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof value, "%.*s", (int)(len - (size_t)(v - p)), v);
            return value;
        }
        p = eol ? eol + 1 : NULL;
    }
    return NULL;
}

int rf_route(struct gw_router *r, const struct rf_req *q, struct gw_route_result *out,
             struct gw_request_err *e)
{
    char def[512];
    snprintf(def, sizeof def, "{\"model\":\"%s\",\"messages\":[]}", q->model ? q->model : "");
    cJSON *body = cJSON_Parse(q->body ? q->body : def);
    cr_assert_not_null(body, "test body is not JSON");
    struct gw_route_ctx ctx = {
        .op = q->op ? q->op : AIGW_OP_CHAT,
        .model = q->model,
        .x_provider = q->x_provider,
        .body = body,
        .header = find_header,
        .header_ud = (void *)q->headers,
        .plan = q->plan,
    };
    int rc = gw_route(r, &ctx, out, e);
    cJSON_Delete(body);
    return rc;
}

const char *rf_targets(struct gw_router *r, const struct rf_req *q)
{
    static _Thread_local char buf[2048];
    struct gw_route_result out;
    struct gw_request_err e;
    int rc = rf_route(r, q, &out, &e);
    cr_assert_eq(rc, 0, "route failed: %d %s", e.status, e.message);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < out.n; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s:%s", i ? "," : "",
                                out.targets[i].plugin->desc.vkey, out.targets[i].model);
    return buf;
}

const char *rf_first(struct gw_router *r, const struct rf_req *q)
{
    const char *all = rf_targets(r, q);
    static _Thread_local char first[512];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(all, ","), all);
    return first;
}

void rf_report(struct gw_router *r, const char *vkey, const char *model, int outcome, int n,
               int64_t latency_ms)
{
    struct gw_target t = {.plugin = rf_plugin(vkey), .model = model};
    t.stat = gw_tstats_get(r->stats, t.plugin, model, 1);
    cr_assert_not_null(t.stat);
    for (int i = 0; i < n; i++)
        gw_route_report_status(r, &t, outcome, latency_ms);
}
