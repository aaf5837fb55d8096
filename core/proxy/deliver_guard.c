/*
 * deliver_guard - the output guardrails between an answer's chunks (from the upstream call or
 * a cache replay) and the renderer: text goes through the chain's window (guard/window.c), so
 * what a guard redacts is redacted before any byte of it reaches the relay or the cache
 * recorder; a deny ends the answer with the guard's error (the dialect's error event on a
 * stream that began, its error document otherwise); a final hook that asks for a service call
 * pauses the upstream (the gate in attempt.c) while the call is out; json-schema's RETRY sends
 * the request again, once, with the validation error appended (never on a stream).
 *
 * Threading: the request's upstream side (its worker's engine), as deliver.c.
 */
#include "proxy/req_int.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "plugin/usage.h"

static void answer_fetched(struct gw_req *r);

/* What the lifetime does with a verdict of the answer stage: 0 go on, negative stop the
 * upstream (a guard refused the answer, or the filter failed). */
static int verdict(struct gw_req *r, int v)
{
    switch (v) {
    case GW_GUARD_ALLOW:
        return 0;
    case GW_GUARD_RETRY:
        r->guard_retry = 1; /* the rest of this answer is not the client's */
        return 0;
    case GW_GUARD_PENDING:
        if (!r->gfetch && gw_guard_fetch_request(r->guard) &&
            gw_guard_fetch_start(r, answer_fetched) < 0)
            return verdict(r, gw_guard_resume(r->guard, gw_deliver_emit, r)); /* settles it */
        return 0; /* chunks queue in the run; the gate pauses the upstream */
    case GW_GUARD_DENY:
    case GW_GUARD_FAILED:
        r->guard_stop = 1;
        return AIGW_EINTERNAL; /* stops the transfer: nothing more is paid for */
    default:
        return v < 0 ? v : AIGW_EINTERNAL;
    }
}

int gw_deliver_guard_chunk(struct gw_req *r, const struct aigw_chunk *chunk)
{
    if (r->guard_stop)
        return AIGW_EINTERNAL;
    if (r->guard_retry) { /* the rest is not the client's, but its usage was paid for */
        if (chunk->type == AIGW_CHUNK_USAGE && chunk->usage) {
            gw_usage_merge(&r->usage, chunk->usage);
            r->have_usage = 1;
        }
        return 0;
    }
    return verdict(r, gw_guard_on_chunk(r->guard, chunk, gw_deliver_emit, r));
}

/* A final hook's service call answered (or failed): the hook runs again and what arrived
 * meanwhile goes on; the upstream (or the cache replay) resumes, or the answer finishes when
 * it ended meanwhile. */
static void answer_fetched(struct gw_req *r)
{
    int rc = verdict(r, gw_guard_resume(r->guard, gw_deliver_emit, r));
    if (r->gfetch)
        return; /* the next hook waits for a call of its own */
    if (r->guard_finish_due) {
        r->guard_finish_due = 0;
        gw_deliver_finish(r, r->guard_finish_rc);
        return;
    }
    if (rc < 0 && r->driver_ready)
        gw_driver_cancel(&r->driver); /* its done finishes with the guard's error */
    else if (r->driver_ready)
        gw_driver_unpause(&r->driver);
    else if (r->cache_hit)
        gw_cache_replay_resume(r);
}

/* Adds u's known counts into *into (an unknown count in both stays unknown). A stated cost
 * (cost_usd > 0) covers its own answer only: the sum is stated when both sides state one,
 * and otherwise left to the catalog to price from all the counts (into_empty: into holds no
 * answer yet, so u's statement stands alone). */
static void usage_add(struct aigw_usage *into, const struct aigw_usage *u, int into_empty)
{
    into->cost_usd = into_empty                              ? u->cost_usd
                     : into->cost_usd > 0 && u->cost_usd > 0 ? into->cost_usd + u->cost_usd
                                                             : 0;
    int64_t *a[] = {&into->prompt_tokens, &into->completion_tokens, &into->cached_tokens,
                    &into->cache_write_tokens, &into->reasoning_tokens};
    const int64_t b[] = {u->prompt_tokens, u->completion_tokens, u->cached_tokens,
                         u->cache_write_tokens, u->reasoning_tokens};
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
        if (b[i] >= 0)
            *a[i] = (*a[i] > 0 ? *a[i] : 0) + b[i];
}

/* Sends the request again after RETRY: the run appended the answer and the guard's note. */
static int retry(struct gw_req *r)
{
    if (r->cache_hit)
        return gw_cache_hit_retry(r); /* a replay: asked upstream as a miss */
    if (!r->route.n || !r->call || r->parsed.stream || !r->driver_ready)
        return AIGW_EINVAL;
    if (gw_guard_retry_body(r->guard, r->parsed.body) < 0)
        return AIGW_ENOMEM;
    const struct gw_target *t = &r->route.targets[r->target];
    r->guard_retry = 0;     /* the new attempt brings a fresh renderer (attempt.c) */
    r->guard_no_native = 1; /* the appended messages exist only in the internal request */
    if (r->have_usage) {    /* the refused answer was paid for: its usage counts at the end */
        usage_add(&r->guard_usage, &r->usage, !r->guard_have_usage);
        r->guard_have_usage = 1;
    }
    gw_usage_init(&r->usage);
    r->have_usage = 0;
    gw_account_tried(r, t->plugin->desc.vkey, "guardrail_retry");
    gw_logf(AIGW_LOG_INFO, "guard", r->request_id, "an answer failed a guardrail; asking again");
    atomic_fetch_add(&r->refs, 1); /* the new attempt's upstream side */
    int rc = gw_attempt_start(r, 0);
    if (rc < 0) { /* not asked again (nothing left of the grant, say): the check failed */
        atomic_fetch_sub(&r->refs, 1);
        r->guard_retry = 1;
    }
    return rc;
}

int gw_deliver_guard_fresh(struct gw_req *r)
{
    if (!r->guard)
        return 0;
    if (r->gfetch || gw_guard_answer_reset(r->guard) < 0)
        return AIGW_EINVAL; /* the last answer is still being judged: it is the one to end */
    r->guard_retry = 0;     /* whatever a guard asked of the last answer */
    return 0;
}

int gw_deliver_guard_end(struct gw_req *r, int *rc)
{
    if (r->gfetch) {
        r->guard_finish_due = 1; /* answer_fetched finishes */
        r->guard_finish_rc = *rc;
        return 1;
    }
    if (!r->guard_stop && !r->guard_retry && *rc == 0 && !(r->call && r->call->has_error)) {
        verdict(r, gw_guard_on_end(r->guard, gw_deliver_emit, r));
        if (r->gfetch) {
            r->guard_finish_due = 1;
            r->guard_finish_rc = *rc;
            return 1;
        }
    }
    if (r->guard_retry && retry(r) == 0)
        return 1;
    if (r->guard_retry || r->guard_stop)
        *rc = AIGW_EINTERNAL; /* not a whole answer: the cache keeps none of it */
    if (r->guard_have_usage) {
        usage_add(&r->usage, &r->guard_usage, !r->have_usage);
        r->have_usage = 1;
        r->guard_have_usage = 0;
    }
    return 0;
}

int gw_deliver_guard_error(struct gw_req *r, struct aigw_error *err)
{
    if (!r->guard || (!r->guard_stop && !r->guard_retry))
        return 0;
    if (r->guard_stop && gw_guard_error(r->guard, err) == 0)
        return 1;
    aigw_error_init(err);
    err->status = 400;
    err->type = "invalid_request_error";
    err->code = "guardrail_blocked";
    err->message = "answer blocked by a guardrail: it failed a check and could not be retried";
    return 1;
}
