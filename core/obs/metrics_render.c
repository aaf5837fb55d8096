/* metrics_render - the Prometheus text exposition format 0.0.4 (see metrics.h). */
#include "obs/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net/upstream.h"
#include "obs/metrics_int.h"
#include "proxy/gateway.h"
#include "version.h"

static const int64_t duration_le[] = {10,   25,   50,    100,   250,   500,    1000,
                                      2500, 5000, 10000, 30000, 60000, 120000, 300000};
static const int64_t ttfb_le[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
/* The GenAI conventions' recommended bounds (seconds), here in microseconds. */
static const int64_t ttft_le_us[] = {1000,    5000,    10000,   20000,   40000,  60000,
                                     80000,   100000,  250000,  500000,  750000, 1000000,
                                     2500000, 5000000, 7500000, 10000000};
static const int64_t tpot_le_us[] = {10000,  25000,  50000,  75000,  100000,  150000, 200000,
                                     300000, 400000, 500000, 750000, 1000000, 2500000};
static const int64_t token_le[] = {1,     4,     16,     64,      256,     1024,     4096,
                                   16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
static const int64_t store_le_us[] = {250,   500,    1000,   2500,   5000,    10000,  25000,
                                      50000, 100000, 250000, 500000, 1000000, 2500000};
#define NLE(a) ((int)(sizeof a / sizeof a[0]))
#define FITS(a) (NLE(a) + 2 <= GW_M_SERIES_VALUES_MAX)
_Static_assert(FITS(duration_le) && FITS(ttfb_le) && FITS(ttft_le_us) && FITS(tpot_le_us) &&
                   FITS(token_le) && FITS(store_le_us),
               "metrics.c reserves GW_M_SERIES_VALUES_MAX values per histogram series");

/* clang-format off: one family per entry reads better than one field per line */
const struct gw_m_family_desc gw_m_families[GW_MF_COUNT] = {
    [GW_MF_REQUESTS] = {"aigw_requests_total",
                        "Client requests answered, by route, provider, model and HTTP status.",
                        GW_MT_COUNTER,
                        GW_MU_COUNT,
                        4,
                        {"route", "provider", "model", "status"},
                        NULL,
                        0},
    [GW_MF_DURATION] = {"aigw_request_duration_seconds",
                        "Time from request received to last byte sent, per provider.",
                        GW_MT_HISTOGRAM,
                        GW_MU_MS,
                        1,
                        {"provider"},
                        duration_le,
                        NLE(duration_le)},
    [GW_MF_TTFB] = {"aigw_ttfb_seconds",
                    "Time from request received to the first response byte, per provider.",
                    GW_MT_HISTOGRAM,
                    GW_MU_MS,
                    1,
                    {"provider"},
                    ttfb_le,
                    NLE(ttfb_le)},
    [GW_MF_ATTEMPTS] = {"aigw_upstream_attempts_total",
                        "Upstream attempts by provider, outcome (ok, HTTP status or transport "
                        "error) and attempt kind (first, retry, fallback).",
                        GW_MT_COUNTER,
                        GW_MU_COUNT,
                        3,
                        {"provider", "outcome", "attempt"},
                        NULL,
                        0},
    [GW_MF_RETRIES] = {"aigw_retries_total",
                       "Failed attempts retried on the same target, by provider and reason.",
                       GW_MT_COUNTER,
                       GW_MU_COUNT,
                       2,
                       {"provider", "reason"},
                       NULL,
                       0},
    [GW_MF_FALLBACKS] = {"aigw_fallbacks_total",
                         "Failed attempts followed by one on another target, by the failed "
                         "provider and reason.",
                         GW_MT_COUNTER,
                         GW_MU_COUNT,
                         2,
                         {"provider", "reason"},
                         NULL,
                         0},
    [GW_MF_TOKENS] = {"aigw_tokens_total",
                      "Tokens reported by upstreams, by provider, model and kind (prompt, "
                      "completion, cached, cache_write, reasoning).",
                      GW_MT_COUNTER,
                      GW_MU_COUNT,
                      3,
                      {"provider", "model", "kind"},
                      NULL,
                      0},
    [GW_MF_COST] = {"aigw_cost_usd_total",
                    "Cost in US dollars computed from the catalog prices, by provider and model.",
                    GW_MT_COUNTER,
                    GW_MU_NANO,
                    2,
                    {"provider", "model"},
                    NULL,
                    0},
    [GW_MF_BREAKER] = {"aigw_circuit_breaker_state",
                       "Circuit-breaker state per target: 0 closed, 1 half-open, 2 open.",
                       GW_MT_GAUGE,
                       GW_MU_COUNT,
                       2,
                       {"provider", "model"},
                       NULL,
                       0},
    [GW_MF_TTFT] = {"gen_ai_server_time_to_first_token_seconds",
                    "Time from sending a successful upstream request to its first token, by "
                    "provider and model.",
                    GW_MT_HISTOGRAM,
                    GW_MU_US,
                    2,
                    {"provider", "model"},
                    ttft_le_us,
                    NLE(ttft_le_us)},
    [GW_MF_TPOT] = {"gen_ai_server_time_per_output_token_seconds",
                    "Time per output token after the first of a successful upstream answer, by "
                    "provider and model.",
                    GW_MT_HISTOGRAM,
                    GW_MU_US,
                    2,
                    {"provider", "model"},
                    tpot_le_us,
                    NLE(tpot_le_us)},
    [GW_MF_TOKEN_USAGE] = {"gen_ai_client_token_usage",
                           "Tokens per request by provider, model and token type (input, output).",
                           GW_MT_HISTOGRAM,
                           GW_MU_COUNT,
                           3,
                           {"provider", "model", "token_type"},
                           token_le,
                           NLE(token_le)},
    [GW_MF_KEY_TOKENS] = {"aigw_key_tokens_total",
                          "Tokens by gateway key id and kind (prompt, completion, cached, "
                          "cache_write, reasoning).",
                          GW_MT_COUNTER,
                          GW_MU_COUNT,
                          2,
                          {"key", "kind"},
                          NULL,
                          0},
    [GW_MF_KEY_COST] = {"aigw_key_cost_usd_total",
                        "Cost in US dollars by gateway key id.",
                        GW_MT_COUNTER,
                        GW_MU_NANO,
                        1,
                        {"key"},
                        NULL,
                        0},
    [GW_MF_RATE_LIMITED] = {"aigw_rate_limited_total",
                            "Requests refused by a rate limit, by gateway key id and limit.",
                            GW_MT_COUNTER,
                            GW_MU_COUNT,
                            2,
                            {"key", "limit"},
                            NULL,
                            0},
    [GW_MF_BUDGET] = {"aigw_budget_exceeded_total",
                      "Requests refused because a budget was spent, by gateway key id.",
                      GW_MT_COUNTER,
                      GW_MU_COUNT,
                      1,
                      {"key"},
                      NULL,
                      0},
    [GW_MF_DEGRADED] = {"aigw_degraded_decisions_total",
                        "Limit and budget decisions taken without the shared counters, by "
                        "decision.",
                        GW_MT_COUNTER,
                        GW_MU_COUNT,
                        1,
                        {"decision"},
                        NULL,
                        0},
    [GW_MF_CACHE] = {"aigw_cache_lookups_total",
                     "Response cache lookups by result (hit, miss, bypass, error).",
                     GW_MT_COUNTER,
                     GW_MU_COUNT,
                     1,
                     {"result"},
                     NULL,
                     0},
    [GW_MF_CACHE_EVICTIONS] = {"aigw_cache_evictions_total",
                               "Entries dropped from the in-memory response cache, by reason "
                               "(capacity: for room; expired: past the TTL).",
                               GW_MT_COUNTER,
                               GW_MU_COUNT,
                               1,
                               {"reason"},
                               NULL,
                               0},
    [GW_MF_CACHE_BYTES] = {"aigw_cache_bytes",
                           "Bytes held by the in-memory response cache.",
                           GW_MT_GAUGE,
                           GW_MU_COUNT,
                           0,
                           {NULL},
                           NULL,
                           0},
    [GW_MF_GUARD] = {"aigw_guardrail_outcomes_total",
                     "Guardrail outcomes by guard, stage (request, response) and outcome.",
                     GW_MT_COUNTER,
                     GW_MU_COUNT,
                     3,
                     {"guard", "stage", "outcome"},
                     NULL,
                     0},
    [GW_MF_STORE_DURATION] = {"aigw_store_operation_duration_seconds",
                              "Latency of state store and Redis operations, by backend and "
                              "operation.",
                              GW_MT_HISTOGRAM,
                              GW_MU_US,
                              2,
                              {"backend", "op"},
                              store_le_us,
                              NLE(store_le_us)},
    [GW_MF_STORE_ERRORS] = {"aigw_store_errors_total",
                            "Failed state store and Redis operations, by backend, operation and "
                            "reason.",
                            GW_MT_COUNTER,
                            GW_MU_COUNT,
                            3,
                            {"backend", "op", "reason"},
                            NULL,
                            0},
    [GW_MF_LOG_DROPPED] = {"aigw_log_dropped_total",
                           "Log rows dropped because the log's queue was full, by log.",
                           GW_MT_COUNTER,
                           GW_MU_COUNT,
                           1,
                           {"log"},
                           NULL,
                           0},
    [GW_MF_SPANS_DROPPED] = {"aigw_otel_spans_dropped_total",
                             "Trace spans dropped, by reason (queue_full, export_failed).",
                             GW_MT_COUNTER,
                             GW_MU_COUNT,
                             1,
                             {"reason"},
                             NULL,
                             0},
    [GW_MF_SPANS_EXPORTED] = {"aigw_otel_spans_exported_total",
                              "Trace spans the OTLP collector accepted.",
                              GW_MT_COUNTER,
                              GW_MU_COUNT,
                              0,
                              {NULL},
                              NULL,
                              0},
    [GW_MF_LEASES] = {"aigw_budget_leases",
                      "Budget reservations this process renews now (requests in flight that "
                      "hold a budget grant).",
                      GW_MT_GAUGE,
                      GW_MU_COUNT,
                      0,
                      {NULL},
                      NULL,
                      0},
    [GW_MF_LEASES_LOST] = {"aigw_budget_leases_lost_total",
                           "Renewals that found their budget reservation already expired and "
                           "its grant given back: the budget may be overspent.",
                           GW_MT_COUNTER,
                           GW_MU_COUNT,
                           0,
                           {NULL},
                           NULL,
                           0},
    [GW_MF_LEASES_UNTRACKED] = {"aigw_budget_leases_untracked_total",
                                "Budget reservations never renewed (registry full or no "
                                "memory): each keeps its grant for one lease only.",
                                GW_MT_COUNTER,
                                GW_MU_COUNT,
                                0,
                                {NULL},
                                NULL,
                                0},
    [GW_MF_UPSTREAM_CANCELS] = {"aigw_upstream_cancels_total",
                                "Cancel requests for upstream jobs left unfinished (a client gone, "
                                "a timeout, a fallback), by provider and outcome (ok, rejected, "
                                "failed, dropped).",
                                GW_MT_COUNTER,
                                GW_MU_COUNT,
                                2,
                                {"provider", "outcome"},
                                NULL,
                                0},
};
/* clang-format on */

struct out {
    struct gw_buf *b;
    int rc; /* the first error; later writes are skipped */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    if (o->rc)
        return;
    va_list ap;
    va_start(ap, fmt);
    o->rc = gw_buf_vprintf(o->b, fmt, ap);
    va_end(ap);
}

static void put_value(struct out *o, const char *s)
{
    if (!o->rc)
        o->rc = gw_metrics_label_value(o->b, s, strlen(s));
}

int gw_metrics_label_value(struct gw_buf *out, const char *s, size_t n)
{
    char tmp[2 * GW_M_LABEL_MAX];
    size_t k = 0;
    if (n > GW_M_LABEL_MAX)
        n = GW_M_LABEL_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"') {
            tmp[k++] = '\\';
            tmp[k++] = (char)c;
        } else if (c == '\n') {
            tmp[k++] = '\\';
            tmp[k++] = 'n';
        } else if (c < 0x20 || c >= 0x7f) {
            /* Labels are ASCII by construction; anything else would also risk invalid UTF-8,
             * which fails the whole scrape. */
            tmp[k++] = '?';
        } else {
            tmp[k++] = (char)c;
        }
    }
    return gw_buf_append(out, tmp, k);
}

static void header(struct out *o, const char *name, const char *help, const char *type)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* {a="x",b="y"[,le="..."]}, or nothing for no labels. */
static void label_set(struct out *o, const struct gw_m_family_desc *f, const struct gw_m_series *s,
                      const char *le)
{
    if (!f->nlabels && !le)
        return;
    put(o, "{");
    for (int i = 0; i < f->nlabels; i++) {
        put(o, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_value(o, s->lab[i]->s);
        put(o, "\"");
    }
    if (le)
        put(o, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    put(o, "}");
}

/* A bound in the family's unit as the shortest decimal: ms 5 -> "0.005", ms 2500 -> "2.5",
 * us 1000000 -> "1", a count as it is. */
static void bound(int unit, int64_t v, char *buf, size_t size)
{
    int digits = unit == GW_MU_US ? 6 : unit == GW_MU_MS ? 3 : 0;
    int64_t scale = digits == 6 ? 1000000 : digits == 3 ? 1000 : 1;
    int64_t whole = v / scale, frac = v % scale;
    if (!frac) {
        snprintf(buf, size, "%" PRId64, whole);
        return;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(buf, size, "%" PRId64 ".%0*" PRId64, whole, digits, frac);
}

static void histogram(struct out *o, const struct gw_metrics *m, const struct gw_m_family_desc *f,
                      const struct gw_m_series *s)
{
    uint64_t cum = 0;
    char le[32];
    for (int i = 0; i <= f->nle; i++) {
        cum += gw_m_value(m, s->off + 1 + (uint32_t)i);
        if (i < f->nle)
            bound(f->unit, f->le[i], le, sizeof le);
        else
            snprintf(le, sizeof le, "+Inf");
        put(o, "%s_bucket", f->name);
        label_set(o, f, s, le);
        put(o, " %" PRIu64 "\n", cum);
    }
    /* Read after the buckets: under concurrent updates the sum may hold an observation the
     * count does not yet, never the other way round in a way that breaks the buckets. */
    uint64_t sum = gw_m_value(m, s->off);
    put(o, "%s_sum", f->name);
    label_set(o, f, s, NULL);
    if (f->unit == GW_MU_MS)
        put(o, " %" PRIu64 ".%03" PRIu64 "\n", sum / 1000, sum % 1000);
    else if (f->unit == GW_MU_US)
        put(o, " %" PRIu64 ".%06" PRIu64 "\n", sum / 1000000, sum % 1000000);
    else
        put(o, " %" PRIu64 "\n", sum);
    put(o, "%s_count", f->name);
    label_set(o, f, s, NULL);
    put(o, " %" PRIu64 "\n", cum);
}

static void family(struct out *o, struct gw_metrics *m, int fam)
{
    const struct gw_m_family_desc *f = &gw_m_families[fam];
    static const char *const types[] = {"counter", "gauge", "histogram"};
    header(o, f->name, f->help, types[f->type]);
    size_t n = m ? atomic_load_explicit(&m->nlist, memory_order_acquire) : 0;
    for (size_t i = 0; i < n; i++) {
        const struct gw_m_series *s = m->list[i];
        if (s->family != fam)
            continue;
        if (f->type == GW_MT_HISTOGRAM) {
            histogram(o, m, f, s);
            continue;
        }
        uint64_t v = f->type == GW_MT_GAUGE
                         ? atomic_load_explicit(&m->shard[0][s->off], memory_order_relaxed)
                         : gw_m_value(m, s->off);
        put(o, "%s", f->name);
        label_set(o, f, s, NULL);
        if (f->unit == GW_MU_NANO)
            put(o, " %" PRIu64 ".%09" PRIu64 "\n", v / 1000000000u, v % 1000000000u);
        else
            put(o, " %" PRIu64 "\n", v);
    }
}

static void gauge(struct out *o, const char *name, const char *help, long long v)
{
    header(o, name, help, "gauge");
    put(o, "%s %lld\n", name, v);
}

static void plugins(struct out *o, const struct gw_plugins *ps)
{
    header(o, "aigw_plugin_active",
           "Provider plugins loaded, by vkey: 1 active, 0 loaded but inactive.", "gauge");
    for (size_t i = 0; ps && i < ps->n; i++) {
        const char *vkey = ps->items[i]->desc.vkey;
        if (!vkey || !*vkey)
            continue;
        /* The loader keeps vkeys unique; a duplicate would still make the scrape invalid. */
        size_t j = 0;
        while (j < i && !(ps->items[j]->desc.vkey && !strcmp(ps->items[j]->desc.vkey, vkey)))
            j++;
        if (j < i)
            continue;
        put(o, "aigw_plugin_active{vkey=\"");
        put_value(o, vkey);
        put(o, "\"} %d\n", ps->items[i]->active ? 1 : 0);
    }
}

int gw_metrics_render(const struct gw_gateway *gw, struct gw_buf *out)
{
    struct out o = {out, 0};
    struct gw_metrics *m = gw_m_get();
    for (int f = 0; f < GW_MF_COUNT; f++)
        family(&o, m, f);
    gauge(&o, "aigw_active_requests", "Client requests in flight.",
          m ? (long long)(int64_t)gw_m_value(m, GW_M_OFF_ACTIVE) : 0);
    gauge(&o, "aigw_streams_active", "Streaming responses held open to clients.",
          m ? (long long)(int64_t)gw_m_value(m, GW_M_OFF_STREAMS) : 0);
    gauge(&o, "aigw_request_body_bytes",
          "Bytes of request bodies held, arriving or not yet parsed (max_body_bytes_total).",
          gw ? (long long)atomic_load(&gw->body_bytes) : 0);
    gauge(&o, "aigw_upstream_transfers",
          "Upstream transfers in flight (each holds an upstream connection or stream).",
          gw && gw->upstream ? (long long)gw_upstream_active(gw->upstream) : 0);
    plugins(&o, gw ? gw->plugins : NULL);
    header(&o, "aigw_build_info", "Build identity: version and plugin ABI; always 1.", "gauge");
    put(&o, "aigw_build_info{version=\"");
    put_value(&o, GW_VERSION);
    put(&o, "\",abi=\"%u.%u\"} 1\n", (unsigned)AIGW_ABI_MAJOR_OF(AIGW_ABI_VERSION),
        (unsigned)AIGW_ABI_MINOR_OF(AIGW_ABI_VERSION));
    if (gw && gw->started_unix > 0)
        gauge(&o, "aigw_start_time_seconds", "Unix time the gateway started.",
              (long long)gw->started_unix);
    return o.rc;
}
