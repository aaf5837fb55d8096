/*
 * account - the last phase: what a request cost and who hears about it. Usage (kept by the
 * lifetime as the upstream reports it) priced by the catalog, the request's metrics, and its
 * access-log line with what each attempt ended on; for a keyed request, its reservation
 * settled to the real tokens and cost (an answer cut short: what it sent; exactly once:
 * gw_counters_settle ignores a second call, and gw_account_release gives back what a request
 * freed unsettled held) and its row in the spend ledger. The request log joins here. The
 * ledger and log rows are queued (and spooled) before the end of the answer can leave
 * (gw_account_record, from the relay's close): a client that got its answer finds it in both
 * even if aigw is killed right after.
 */
#include "proxy/req_int.h"
#include "proxy/snapshot.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"
#include "front/respond.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "plugin/usage.h"
#include "proxy/counters_loop.h"
#include "store/store.h"

void gw_account_tried(struct gw_req *r, const char *vkey, const char *outcome)
{
    /* "vkey:outcome", comma-separated; an entry that does not fit whole is left out. */
    size_t lv = strlen(vkey), lo = strlen(outcome), sep = r->tried_len ? 1 : 0;
    size_t need = sep + lv + 1 + lo;
    if (need >= sizeof r->tried - r->tried_len)
        return;
    char *p = r->tried + r->tried_len;
    if (sep)
        *p++ = ',';
    memcpy(p, vkey, lv);
    p[lv] = ':';
    memcpy(p + lv + 1, outcome, lo + 1);
    r->tried_len += need;
}

static void request_metrics(struct gw_req *r, int status)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const char *vkey = t ? t->plugin->desc.vkey : NULL;
    const char *model = t ? t->model : r->parsed.model;
    struct gw_memo *memo = gw_target_memo(t);
    if (t && r->have_usage)
        gw_metrics_usage_memo(memo, vkey, model, &r->usage, r->cost_known ? r->cost : -1);
    int64_t now = gw_now_ms();
    int64_t first = gw_relay_first_byte_ms(&r->relay);
    gw_metrics_request_memo(r->path, memo, vkey, model, status, r->parsed.stream, now - r->start_ms,
                            first ? first - r->start_ms : -1);
}

static void access_log(struct gw_req *r, int status, const char *error_type)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const struct aigw_usage *u = &r->usage;
    if (!gw_log_access_on())
        return;
    struct gw_buf b;
    gw_buf_init(&b, 16384);
    gw_log_json_open(&b, r->request_id);
    gw_log_json_field(&b, "method", r->method);
    gw_log_json_field(&b, "path", r->path);
    gw_buf_printf(&b, ",\"status\":%d", status);
    if (r->key)
        gw_log_json_field(&b, "key_id", r->key->id);
    gw_log_json_field(&b, "provider", t ? t->plugin->desc.vkey : NULL);
    gw_log_json_field(&b, "model", t ? t->model : (r->parsed.model ? r->parsed.model : NULL));
    gw_buf_printf(&b, ",\"stream\":%s,\"attempts\":%d", r->parsed.stream ? "true" : "false",
                  r->attempts);
    gw_log_json_field(&b, "tried", r->tried_len ? r->tried : NULL);
    if (r->route.label[0])
        gw_log_json_field(&b, "route_label", r->route.label);
    gw_buf_printf(&b, ",\"latency_ms\":%" PRId64, gw_now_ms() - r->start_ms);
    int64_t first = gw_relay_first_byte_ms(&r->relay);
    if (first)
        gw_buf_printf(&b, ",\"ttfb_ms\":%" PRId64, first - r->start_ms);
    else
        gw_buf_append_str(&b, ",\"ttfb_ms\":null");
    if (u->prompt_tokens >= 0)
        gw_buf_printf(&b, ",\"prompt_tokens\":%" PRId64, u->prompt_tokens);
    else
        gw_buf_append_str(&b, ",\"prompt_tokens\":null");
    if (u->completion_tokens >= 0)
        gw_buf_printf(&b, ",\"completion_tokens\":%" PRId64, u->completion_tokens);
    else
        gw_buf_append_str(&b, ",\"completion_tokens\":null");
    if (u->cached_tokens >= 0)
        gw_buf_printf(&b, ",\"cached_tokens\":%" PRId64, u->cached_tokens);
    if (u->reasoning_tokens >= 0)
        gw_buf_printf(&b, ",\"reasoning_tokens\":%" PRId64, u->reasoning_tokens);
    char cost[64];
    if (r->cost_known && gw_fixed_format(r->cost, 8, cost, sizeof cost) >= 0)
        gw_buf_append_strs(&b, ",\"cost_usd\":", cost, NULL);
    else if (r->cost_known)
        gw_buf_printf(&b, ",\"cost_usd\":%.8f", r->cost);
    else
        gw_buf_append_str(&b, ",\"cost_usd\":null");
    if (r->cache_status)
        gw_log_json_field(&b, "cache", r->cache_status);
    if (r->guard) { /* what each guard ended on: names and outcomes, never what matched */
        gw_buf_append_str(&b, ",\"guardrails\":");
        gw_guard_summary(r->guard, &b);
    }
    if (error_type)
        gw_log_json_field(&b, "error", error_type);
    gw_buf_append_str(&b, "}");
    if (b.ptr)
        gw_log_access(b.ptr, b.len);
    gw_buf_free(&b);
}

/* u priced by the catalog entry of the request's target (or at the cost the provider stated
 * in it, which needs no entry): 0 and *usd set, or negative. */
static int price(struct gw_req *r, const struct aigw_usage *u, double *usd)
{
    if (!r->route.n)
        return GW_COST_UNKNOWN;
    const struct gw_target *t = &r->route.targets[r->target];
    const struct gw_model *m = r->gw->catalog ? gw_target_entry(t, r->gw->catalog) : NULL;
    return gw_cost_usd(m, u, usd);
}

void gw_account_cost(struct gw_req *r)
{
    r->cost_known = 0;
    if (r->cache_hit) {
        /* Replayed from the response cache: no upstream was paid for this answer. */
        r->cost = 0;
        r->cost_known = 1;
        return;
    }
    double usd = 0;
    if (r->have_usage && price(r, &r->usage, &usd) == 0) {
        r->cost = usd;
        r->cost_known = 1;
    }
}

/* The usage a provider reports is final only when its exchange ended cleanly: OpenAI's comes
 * after the last token, Anthropic's message_start counts one output token and message_delta
 * the rest. A client that reads part of an answer and leaves before that (or an upstream that
 * cuts or fails mid-stream) was sent tokens nobody reported: priced by the report alone such
 * an answer cost its prompt (or, with no report, nothing in the ledger while the counters
 * kept the reservation, which a restart forgave). The provider bills what it generated until
 * the client went away, so the answer is priced as what it sent: the reported prompt (else
 * admission's estimate) and the reported output or the content sent at 4 bytes a token,
 * whichever is more, through the same catalog price. Not the whole reservation: an honest
 * client that stops an answer early would pay for max_tokens it never got. The estimate
 * stays within what admission reserved and never under what was reported. A whole answer
 * without a report is priced the same way. */
void gw_account_charge_sent(struct gw_req *r, int failed)
{
    /* A whole chat answer sent in one piece is "sent" too: a provider that leaves its usage
     * out of it (some OpenAI-compatible servers do) would otherwise answer for free. */
    int sent_whole = !r->parsed.stream && !failed && r->parsed.op == AIGW_OP_CHAT;
    if (r->cache_hit || !(gw_relay_first_byte_ms(&r->relay) || sent_whole))
        return; /* nothing was sent: settled by the report */
    if (r->have_usage && !failed)
        return;
    /* Without a reservation (no key, or a key without limits) the ledger still needs the
     * cost: a spend report that left out every answer a client interrupted (Esc in Claude
     * Code) before an OpenAI-wire usage report would count none of them. */
    struct aigw_usage u = r->usage;
    if (!r->have_usage)
        gw_usage_init(&u);
    int64_t told = u.completion_tokens > 0 ? u.completion_tokens : 0;
    int64_t sent = (r->sent_bytes + 3) / 4;
    if (r->resv.state && sent > r->resv_out)
        sent = r->resv_out;
    if (u.prompt_tokens <= 0)
        u.prompt_tokens =
            r->resv_prompt > 0 ? r->resv_prompt : gw_admit_prompt_estimate(r->parsed.body);
    u.completion_tokens = sent > told ? sent : told;
    /* The estimate is the catalog's; a cost the provider stated before the cut is told_usd. */
    u.cost_usd = 0;
    double told_usd = r->cost_known ? r->cost : 0, usd = 0;
    if (price(r, &u, &usd) == 0) {
        double cap = (double)r->resv.micros / 1e6;
        if (r->resv.micros > 0 && usd > cap)
            usd = cap;
        r->cost = usd > told_usd ? usd : told_usd;
        r->cost_known = 1;
    }
    r->usage = u; /* the ledger, the log and the counters tell the same tokens */
    r->have_usage = 1;
}

/* Moves the reservation to what the request really used (for an answer cut short, what
 * gw_account_charge_sent priced). Usage unknown after an answer was sent: the reservation
 * stands (a stream without a usage report must not be free). */
static void settle(struct gw_req *r, int status)
{
    if (!r->resv.state)
        return;
    struct gw_counters *c = gw_counters_here(r->gw);
    if (!c)
        return; /* off the loops (stopping): the reservation expires by its TTL */
    const struct aigw_usage *u = &r->usage;
    int64_t tokens, usd;
    if (r->cache_hit) {
        /* Replayed from the response cache: no provider capacity and no money was spent, so
         * nothing counts against TPM or the budget (the request still counted for RPM when it
         * was admitted). The replayed usage is what the first answer cost, told again. */
        tokens = usd = 0;
    } else if (r->have_usage) {
        tokens = (u->prompt_tokens > 0 ? u->prompt_tokens : 0) +
                 (u->completion_tokens > 0 ? u->completion_tokens : 0);
        usd = r->cost_known ? (int64_t)llround(r->cost * 1e6) : r->resv.micros;
    } else if (status < 400 && gw_relay_first_byte_ms(&r->relay)) {
        tokens = r->resv.tokens;
        usd = r->resv.micros;
    } else {
        tokens = usd = 0;
    }
    gw_counters_settle(c, &r->resv, tokens, usd);
}

void gw_account_release(struct gw_req *r)
{
    struct gw_counters *c = r->resv.state ? gw_counters_here(r->gw) : NULL;
    if (c)
        gw_counters_release(c, &r->resv);
}

/* The spend ledger's row of a keyed request that reached an upstream (or the cache): 1 when
 * there is one. */
static int ledger_entry(struct gw_req *r, struct gw_ledger_entry *e)
{
    if (!r->key || !r->route.n || !r->attempts)
        return 0;
    const struct gw_target *t = &r->route.targets[r->target];
    const struct aigw_usage *u = &r->usage;
    memset(e, 0, sizeof *e);
    gw_strlcpy(e->request_id, r->request_id, sizeof e->request_id);
    gw_strlcpy(e->key_id, r->key->id, sizeof e->key_id);
    gw_strlcpy(e->model, t->model, sizeof e->model);
    gw_strlcpy(e->provider, t->plugin->desc.vkey, sizeof e->provider);
    e->input_tokens = u->prompt_tokens;
    e->output_tokens = u->completion_tokens;
    e->cached_tokens = u->cached_tokens;
    e->reasoning_tokens = u->reasoning_tokens;
    e->cost_usd = r->cost_known ? r->cost : -1;
    return 1;
}

/* The request log's row: every proxied request, keyed or not; with log.bodies, the request's
 * body and the answer as sent (each GW_LOG_BODY_TAKE bytes at most: the store redacts them,
 * then cuts them to its cap). */
static void log_entry(struct gw_req *r, int status, const char *error_type, int64_t first,
                      struct gw_log_row *row)
{
    const struct gw_target *t = r->route.n ? &r->route.targets[r->target] : NULL;
    const struct aigw_usage *u = &r->usage;
    memset(row, 0, sizeof *row);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t now = gw_now_ms();
    row->ts_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000 - (now - r->start_ms);
    gw_strlcpy(row->request_id, r->request_id, sizeof row->request_id);
    if (r->key)
        gw_strlcpy(row->key_id, r->key->id, sizeof row->key_id);
    if (r->dialect)
        gw_strlcpy(row->dialect, r->dialect->name, sizeof row->dialect);
    gw_strlcpy(row->endpoint, r->path, sizeof row->endpoint);
    if (r->parsed.model)
        gw_strlcpy(row->model_asked, r->parsed.model, sizeof row->model_asked);
    if (t) {
        gw_strlcpy(row->model_served, r->resp_model[0] ? r->resp_model : t->model,
                   sizeof row->model_served);
        gw_strlcpy(row->provider, t->plugin->desc.vkey, sizeof row->provider);
    }
    row->attempts = r->attempts;
    gw_strlcpy(row->failures, r->tried, sizeof row->failures);
    row->status = status;
    row->stream = r->parsed.stream;
    row->input_tokens = u->prompt_tokens;
    row->output_tokens = u->completion_tokens;
    row->cached_tokens = u->cached_tokens;
    row->reasoning_tokens = u->reasoning_tokens;
    row->cost_usd = r->cost_known ? r->cost : -1;
    row->latency_ms = now - r->start_ms;
    row->ttfb_ms = first ? first - r->start_ms : -1;
    row->cache_hit = r->cache_hit;
    if (error_type)
        gw_strlcpy(row->error_code, error_type, sizeof row->error_code);
    const char *word;
    gw_guard_req_outcome(r, row->guardrail, sizeof row->guardrail, &word);
    if (r->log_bodies) { /* the store copies, cuts and redacts them */
        /* A body a guardrail rewrote (PII masked, say) is not kept as the client sent it. */
        row->request_body = r->guard_no_native ? NULL : r->log_req.ptr;
        row->request_body_len = r->guard_no_native ? 0 : r->log_req.len;
        row->response_body = r->log_resp.ptr;
        row->response_body_len = r->log_resp.len;
    }
}

void gw_account_record(struct gw_req *r, int status, const char *error_type, int64_t first_ms)
{
    if (r->recorded || !r->gw->store)
        return;
    r->recorded = 1;
    struct gw_ledger_entry e;
    struct gw_log_row row;
    int have_e = ledger_entry(r, &e);
    int have_row = r->snap->cfg.log_requests; /* log.requests, as of the request's start */
    if (have_row)
        log_entry(r, status, error_type, first_ms, &row);
    /* Together: spooled as one record, so a killed gateway leaves both rows or neither. */
    int rc = gw_store_record(r->gw->store, have_e ? &e : NULL, have_row ? &row : NULL);
    if (have_e && rc < 0)
        gw_logf(AIGW_LOG_WARN, "ledger", r->request_id, "key %s: spend not recorded (%s)",
                r->key->id, rc == GW_STORE_EFULL ? "the store's queue is full" : "refused");
}

void gw_account_close(struct gw_req *r, int status, const char *error_type)
{
    settle(r, status);
    if (!r->recorded)
        gw_account_record(r, status, error_type, gw_relay_first_byte_ms(&r->relay));
    /* A hit's usage is the first answer's, told again: no token was spent for it, as the
     * counters settle it (its $0 still counts, so a key that only hits has its series). */
    if (r->key && r->cache_hit)
        gw_metrics_key_usage(r->key->id, NULL, 0);
    else if (r->key && r->have_usage)
        gw_metrics_key_usage(r->key->id, &r->usage, r->cost_known ? r->cost : -1);
    request_metrics(r, status);
    gw_guard_req_metrics(r);
    access_log(r, status, error_type);
    char guardrail[64];
    const char *gword = NULL;
    gw_guard_req_outcome(r, guardrail, sizeof guardrail, &gword);
    /* A hit makes no attempt, so no span carries gen_ai.usage.*: the GenAI conventions count
     * a model call's tokens, and none was made. aigw.cache says where the answer came from. */
    struct gw_otel_request_end e = {
        .status = status,
        .key_id = r->key ? r->key->id : NULL,
        .dialect = r->dialect ? r->dialect->name : NULL,
        .cache = r->cache_status,
        .guardrail = gword,
        .error_type = error_type,
        .attempts = r->attempts,
    };
    gw_otel_request_end(r->span, &e);
    r->span = NULL;
}
