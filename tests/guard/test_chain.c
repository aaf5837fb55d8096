/*
 * test_chain - core/guard against tguard (mod_test.c), a guard that does what its config says:
 * loading and config errors, order and deny, fail closed / fail open, service calls, the
 * streaming window (edits, holds, the hold cap, kinds and choices kept in order), final hooks
 * (retry, waiting with chunks queued), error scrubbing, counters and the summary.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/harness.h"
#include "lib/buf.h"
#include "lib/redact.h"
#include "lib/utf8.h"

static struct gw_guard_chain *chain(const char *json)
{
    return gh_chain_in(json, gh_module_dir());
}

static const char *load_err(const char *json)
{
    static char err[1024];
    struct gw_guard_chain *c = NULL;
    cJSON *j = cJSON_Parse(json);
    cr_assert_not_null(j, "bad test JSON: %s", json);
    int rc = gw_guard_chain_load(&c, j, gh_module_dir(), err, sizeof err);
    cJSON_Delete(j);
    cr_assert_lt(rc, 0, "loaded: %s", json);
    cr_assert_null(c);
    return err;
}

static char *module(const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s.so", gh_module_dir(), name);
    return path;
}

static struct gw_guard_run *run_new(struct gw_guard_chain *c, int stream)
{
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, stream, "gpt-x", "openai", "req-9", NULL};
    struct gw_guard_run *r = gw_guard_run_new(c, &o);
    cr_assert_not_null(r);
    return r;
}

/* ---- loading ------------------------------------------------------------------------------ */

Test(chain, empty_and_absent_lists_are_no_chain)
{
    struct gw_guard_chain *c = (struct gw_guard_chain *)1;
    char err[64];
    cJSON *empty = cJSON_CreateArray();
    cr_assert_eq(gw_guard_chain_load(&c, NULL, ".", err, sizeof err), 0);
    cr_assert_null(c);
    c = (struct gw_guard_chain *)1;
    cr_assert_eq(gw_guard_chain_load(&c, empty, ".", err, sizeof err), 0);
    cr_assert_null(c);
    cJSON_Delete(empty);
    cJSON *one = cJSON_Parse("[{\"name\":\"tguard\"}]");
    cr_assert_lt(gw_guard_chain_load(&c, one, NULL, err, sizeof err), 0);
    cr_assert_str_eq(err, "guardrails: the guard directory's name is too long");
    cJSON_Delete(one);
    cr_assert_eq(gw_guard_chain_size(NULL), 0);
    cr_assert(!gw_guard_chain_has(NULL, AIGW_GUARD_INPUT));
}

Test(chain, entry_shape_errors)
{
    cr_assert_str_eq(load_err("{}"),
                     "guardrails: must be an array of {name, stage, config, fail_open}");
    cr_assert_str_eq(load_err("[1]"),
                     "guardrails[0]: must be an object {name, stage, config, fail_open}");
    cr_assert_str_eq(load_err("[{\"stage\":\"input\"}]"),
                     "guardrails[0]: name: a guard name ([a-z0-9-]+) is required");
    cr_assert_str_eq(load_err("[{\"name\":\"Bad Name\"}]"),
                     "guardrails[0]: name: a guard name ([a-z0-9-]+) is required");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\"},{\"name\":\"tguard\",\"when\":1}]"),
                     "guardrails[1] (tguard): when: unknown key");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"stage\":\"sideways\"}]"),
                     "guardrails[0] (tguard): stage: must be \"input\", \"output\" or \"both\"");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"config\":[]}]"),
                     "guardrails[0] (tguard): config: must be an object");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"fail_open\":\"yes\"}]"),
                     "guardrails[0] (tguard): fail_open: must be true or false");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"keys_only\":1}]"),
                     "guardrails[0] (tguard): keys_only: must be true or false");
}

/* An entry with keys_only sits a request out unless the run's opts name it. */
Test(chain, keys_only_entries_run_when_named)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"keys_only\":true,\"config\":"
                                     "{\"request\":\"deny\",\"word\":\"w\"}}]");
    cJSON *body = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"w\"}]}");
    struct gw_guard_run *r = run_new(c, 0);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_ALLOW);
    cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_INPUT), GW_GUARD_O_NONE);
    gw_guard_run_free(r);
    const char *other[] = {"pii", NULL}, *named[] = {"pii", "tguard", NULL};
    struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "m", "openai", "r", other};
    r = gw_guard_run_new(c, &o);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_ALLOW);
    gw_guard_run_free(r);
    o.named = named;
    r = gw_guard_run_new(c, &o);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_DENY);
    gw_guard_run_free(r);
    cJSON_Delete(body);
    gw_guard_chain_free(c);
}

Test(chain, guard_errors_name_the_entry)
{
    const char *e = load_err("[{\"name\":\"nosuch\"}]");
    cr_assert(strstr(e, "guardrails[0] (nosuch): ") == e && strstr(e, "/nosuch.so: not a loadable"),
              "%s", e);
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"config\":{\"word\":\"\"}}]"),
                     "guardrails[0] (tguard): config.word: the length must be at least 1");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"config\":{\"colour\":1}}]"),
                     "guardrails[0] (tguard): config.colour: not an allowed member");
    cr_assert_str_eq(load_err("[{\"name\":\"tguard\",\"config\":{\"word\":\"refuse\"}}]"),
                     "guardrails[0] (tguard): config: word: refuse is refused");
}

Test(chain, broken_modules_are_refused_with_the_reason)
{
    static const struct {
        const char *module, *why;
    } cases[] = {
        {"bad_noentry", "no aigw_guard_entry symbol (not a guard plugin)"},
        {"bad_major", "built for another ABI major version"},
        {"bad_minor", "built for a newer ABI minor version than this aigw"},
        {"bad_name", "the guard calls itself 'someone-else'"},
        {"bad_size", "descriptor struct_size too small"},
        {"bad_schema", "its config_schema: patternProperties: unsupported keyword"},
        {"bad_old", "declares an ABI minor older than 1.2, which has no guards"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1400];
        snprintf(json, sizeof json, "[{\"name\":\"tguard\",\"path\":\"%s\"}]",
                 module(cases[i].module));
        const char *e = load_err(json);
        cr_assert(strstr(e, cases[i].why), "%s: %s", cases[i].module, e);
    }
}

Test(chain, stage_must_be_one_the_guard_has)
{
    struct gw_guard_chain *c = chain(
        "[{\"name\":\"tguard\",\"stage\":\"input\"},{\"name\":\"tguard\",\"fail_open\":true}]");
    unsigned st;
    int fo;
    cr_assert_eq(gw_guard_chain_size(c), 2);
    cr_assert_str_eq(gw_guard_chain_entry(c, 0, &st, &fo), "tguard");
    cr_assert_eq(st, AIGW_GUARD_INPUT);
    cr_assert_eq(fo, 0);
    cr_assert_str_eq(gw_guard_chain_entry(c, 1, &st, &fo), "tguard");
    cr_assert_eq(st, AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT);
    cr_assert_eq(fo, 1);
    cr_assert_null(gw_guard_chain_entry(c, 2, NULL, NULL));
    gw_guard_chain_free(c);
}

Test(chain, guard_dir_order)
{
    char buf[64];
    unsetenv("AIGW_GUARD_DIR");
    cr_assert_str_eq(gw_guard_dir("", "/p", buf, sizeof buf), "/p/guards");
    cr_assert_str_eq(gw_guard_dir("/g", "/p", buf, sizeof buf), "/g");
    setenv("AIGW_GUARD_DIR", "/env", 1);
    cr_assert_str_eq(gw_guard_dir("/g", "/p", buf, sizeof buf), "/env");
    unsetenv("AIGW_GUARD_DIR");
}

/* ---- the request stage -------------------------------------------------------------------- */

static int request(struct gw_guard_chain *c, const char *body, char **out,
                   struct gw_guard_run **keep)
{
    struct gw_guard_run *r = run_new(c, 0);
    cJSON *j = cJSON_Parse(body);
    int v = gw_guard_on_request(r, j);
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (keep)
        *keep = r;
    else
        gw_guard_run_free(r);
    return v;
}

Test(chain, runs_in_order_and_a_deny_stops_it)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\",\"mark\":\"a\"}},"
              "{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\",\"mark\":\"b\"}},"
              "{\"name\":\"tguard\",\"config\":{\"request\":\"deny\",\"word\":\"\\\"b\\\"\"}},"
              "{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\",\"mark\":\"c\"}}]");
    char *out;
    struct gw_guard_run *r;
    struct aigw_error e;
    cr_assert_eq(request(c, "{\"model\":\"x\"}", &out, &r), GW_GUARD_DENY);
    cr_assert_str_eq(out, "{\"model\":\"x\",\"marks\":[\"a\",\"b\"]}");
    cr_assert(gw_guard_rewrote(r));
    cr_assert_eq(gw_guard_error(r, &e), 0);
    cr_assert_eq(e.status, 400);
    cr_assert_str_eq(e.type, "invalid_request_error");
    cr_assert_str_eq(e.code, "guardrail_blocked");
    cr_assert_str_eq(e.message, "request blocked by guardrail 'tguard': found the word (tguard)");
    cr_assert_str_eq(gw_guard_blocked_by(r), "tguard");
    struct gw_buf b;
    gw_buf_init(&b, 4096);
    cr_assert_eq(gw_guard_summary(r, &b), 0);
    cr_assert_str_eq(b.ptr, "[{\"guard\":\"tguard\",\"stage\":\"input\",\"outcome\":\"rewrite\"},"
                            "{\"guard\":\"tguard\",\"stage\":\"input\",\"outcome\":\"rewrite\"},"
                            "{\"guard\":\"tguard\",\"stage\":\"input\",\"outcome\":\"deny\"}]");
    gw_buf_free(&b);
    cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_INPUT), GW_GUARD_O_REWRITE);
    cr_assert_eq(gw_guard_run_outcome(r, 2, AIGW_GUARD_INPUT), GW_GUARD_O_DENY);
    cr_assert_eq(gw_guard_run_outcome(r, 3, AIGW_GUARD_INPUT), GW_GUARD_O_NONE);
    cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_OUTPUT), GW_GUARD_O_NONE);
    gw_guard_run_free(r);
    free(out);
    /* Counted when the run is freed: one request per entry and stage. */
    cr_assert_eq(gw_guard_chain_count(c, 0, AIGW_GUARD_INPUT, GW_GUARD_O_REWRITE), 1);
    cr_assert_eq(gw_guard_chain_count(c, 2, AIGW_GUARD_INPUT, GW_GUARD_O_DENY), 1);
    cr_assert_eq(gw_guard_chain_count(c, 3, AIGW_GUARD_INPUT, GW_GUARD_O_REWRITE), 0);
    gw_guard_chain_free(c);
}

Test(chain, a_failing_guard_fails_closed_unless_fail_open)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"request\":\"fail\"}},"
                                     "{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\"}}]");
    char *out;
    struct gw_guard_run *r;
    struct aigw_error e;
    cr_assert_eq(request(c, "{}", &out, &r), GW_GUARD_FAILED);
    cr_assert_str_eq(out, "{}");
    cr_assert_eq(gw_guard_error(r, &e), 0);
    cr_assert_eq(e.status, 503);
    cr_assert_str_eq(e.code, "guardrail_failed");
    cr_assert_str_eq(e.message, "guardrail 'tguard' failed (on_request: internal error); the "
                                "request was refused");
    gw_guard_run_free(r);
    free(out);
    gw_guard_chain_free(c);

    c = chain("[{\"name\":\"tguard\",\"fail_open\":true,\"config\":{\"request\":\"badverdict\"}},"
              "{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\"}}]");
    cr_assert_eq(request(c, "{}", &out, NULL), GW_GUARD_ALLOW);
    cr_assert_str_eq(out, "{\"marks\":[\"m\"]}");
    free(out);
    cr_assert_eq(gw_guard_chain_count(c, 0, AIGW_GUARD_INPUT, GW_GUARD_O_FAIL_OPEN), 1);
    gw_guard_chain_free(c);
}

Test(chain, service_calls_suspend_and_resume)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"config\":{\"request\":\"fetch\",\"word\":\"hello\"}},"
              "{\"name\":\"tguard\",\"config\":{\"request\":\"rewrite\"}}]");
    cJSON *body = cJSON_Parse("{}");
    struct gw_guard_run *r = run_new(c, 0);
    cr_assert_null(gw_guard_fetch_request(r));
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_PENDING);
    const struct gw_guard_fetch_req *f = gw_guard_fetch_request(r);
    cr_assert_not_null(f);
    cr_assert_str_eq(f->method, "POST");
    cr_assert_str_eq(f->url, "http://127.0.0.1:9/check");
    cr_assert_str_eq(f->headers[0], "Authorization: Bearer tg-KEY-123456");
    cr_assert_null(f->headers[1]);
    cr_assert_eq(f->body_len, 5);
    cr_assert_eq(memcmp(f->body, "hello", 5), 0);
    cr_assert_eq(f->timeout_ms, GW_GUARD_FETCH_TIMEOUT_CAP);
    cr_assert_str_eq(f->guard, "tguard");
    /* Not answered yet: still waiting. */
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_fetch_done(r, 200, "fine", 4, 12), 0);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_ALLOW);
    char *s = cJSON_PrintUnformatted(body);
    cr_assert_str_eq(s, "{\"marks\":[\"m\"]}");
    free(s);
    gw_guard_run_free(r);

    r = run_new(c, 0);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_fetch_done(r, 403, "deny", 4, 12), 0);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_DENY);
    struct aigw_error e;
    cr_assert_eq(gw_guard_error(r, &e), 0);
    cr_assert_str_eq(e.message, "request blocked by guardrail 'tguard': the service said no "
                                "(status 403)");
    gw_guard_run_free(r);

    r = run_new(c, 0);
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_PENDING);
    gw_guard_fetch_failed(r, "timed out after 30000 ms");
    cr_assert_eq(gw_guard_on_request(r, body), GW_GUARD_FAILED);
    cr_assert_eq(gw_guard_error(r, &e), 0);
    cr_assert_str_eq(e.message, "guardrail 'tguard' failed (on_request: its service call failed "
                                "(timed out after 30000 ms)); the request was refused");
    gw_guard_run_free(r);
    cJSON_Delete(body);
    gw_guard_chain_free(c);
}

/* ---- the answer --------------------------------------------------------------------------- */

Test(chain, edits_apply_at_every_split)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"stage\":\"output\",\"config\":{\"delta\":\"redact\"}}]");
    gh_every_split(c, "a secret, two secrets: secretsecret!", "a [X], two [X]s: [X][X]!");
    gh_every_split(c, "ünïcödé sécret secret — 秘密 secret", "ünïcödé sécret [X] — 秘密 [X]");
    gw_guard_chain_free(c);
    /* Two guards: the second sees the first's edits. */
    c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}},"
              "{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\",\"word\":\"[X]y\"}}]");
    gh_every_split(c, "secrety secretz", "[X] [X]z");
    gw_guard_chain_free(c);
}

Test(chain, a_deny_mid_stream_sends_none_of_the_match)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"deny\"}}]");
    gh_every_split_deny(c, "all fine until the secret shows up", "secret");
    struct gh_result r;
    static const char text[] = "0123456789012345678901234567890123456789 then secret";
    size_t cuts[] = {20, 42, 47};
    gh_answer(c, text, strlen(text), cuts, 3, 1, &r);
    cr_assert_eq(r.verdict, GW_GUARD_DENY);
    cr_assert_str_eq(r.error, "answer blocked by guardrail 'tguard': the answer has the word");
    /* Each call sends all but the last 8 bytes (tguard's window): 12 + 22 + 5 = 39. */
    cr_assert_str_eq(r.text, "012345678901234567890123456789012345678");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

static int count_calls;

static int counting(void *ud, const struct aigw_chunk *c)
{
    struct gw_buf *b = ud;
    count_calls++;
    char head[48];
    snprintf(head, sizeof head, "%d/%d:", c->type, c->choice);
    gw_buf_append_str(b, head);
    gw_buf_append(b, c->text.ptr ? c->text.ptr : "", c->text.len);
    return gw_buf_append(b, "|", 1);
}

Test(chain, holds_up_to_the_cap_then_flushes)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"hold\","
                                     "\"word\":\"BEGIN\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 20);
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    ch.text = aigw_bytes_of("before BEGIN ");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), GW_GUARD_ALLOW);
    cr_assert_str_eq(out.ptr, "2/0:befor|"); /* all but the window (8 bytes) */
    static char block[4096];
    memset(block, 'k', sizeof block);
    ch.text.ptr = block;
    ch.text.len = sizeof block;
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), GW_GUARD_ALLOW);
    cr_assert_str_eq(out.ptr, "2/0:befor|2/0:e |"); /* then nothing from BEGIN on */
    size_t held = 13 - 7 + sizeof block, sent = out.len;
    while (out.len == sent) {
        cr_assert_leq(held, GW_GUARD_HOLD_CAP, "held %zu bytes, past the cap", held);
        cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), GW_GUARD_ALLOW);
        held += sizeof block;
    }
    cr_assert_gt(held, GW_GUARD_HOLD_CAP, "flushed at %zu bytes, before the cap", held);
    cr_assert_eq(out.len - sent, strlen("2/0:|") + held, "the flush sent everything held");
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

Test(chain, kinds_and_choices_keep_their_order)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 16);
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_REASONING, 0);
    ch.text = aigw_bytes_of("thinking about the secret");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 1);
    ch.text = aigw_bytes_of("other choice");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    ch.text = aigw_bytes_of("the answer, no secret");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    ch.text = aigw_bytes_of("{}");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    struct aigw_usage u;
    aigw_usage_init(&u);
    ch = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    ch.usage = &u;
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    /* Reasoning is flushed before choice 0's text starts; the text before its tool call; the
     * tool call is held whole for the delta guard until the end (usage, which some upstreams
     * repeat with every delta, does not flush it, as it does not flush text); choice 1's held
     * tail at the end. */
    cr_assert_str_eq(out.ptr, "3/0:thinking about th|2/1:othe|3/0:e [X]|2/0:the answer, n|"
                              "2/0:o [X]|7/0:|5/0:{}|2/1:r choice|");
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

/* What closes a block of the answer follows the text held before it: a thinking block's
 * signature, and a native Anthropic answer's block boundaries (EXTRA chunks). Emitted ahead of
 * the held tail, the signature ended up on a thinking block missing its last words (Anthropic
 * refuses it when the client sends it back) and the tail went out as a block of its own. */
Test(chain, signatures_and_blocks_follow_their_held_text)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 16);
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_REASONING, 0);
    ch.text = aigw_bytes_of("thinking about the secret");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_REASONING_SIGNATURE, 0);
    ch.text = aigw_bytes_of("c2ln");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    cJSON *stop = cJSON_Parse("{\"type\":\"content_block_stop\",\"index\":0}");
    ch = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
    ch.name = aigw_bytes_of("anthropic.block_stop");
    ch.extra = stop;
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    ch.text = aigw_bytes_of("the answer, no secret");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    ch = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
    ch.name = aigw_bytes_of("anthropic.block_stop");
    ch.extra = stop;
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    cr_assert_str_eq(out.ptr, "3/0:thinking about th|3/0:e [X]|13/0:c2ln|12/0:|2/0:the answer, n|"
                              "2/0:o [X]|12/0:|");
    cJSON_Delete(stop);
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

/* A guard's edit that cuts a character or writes bytes that are not UTF-8 is refused: every
 * renderer writes answer text into JSON as it is, and the client got bytes no JSON parser
 * takes. The guard failed, so fail_open decides. */
Test(chain, an_edit_that_breaks_utf8_is_a_failure_of_the_guard)
{
    static const char *const modes[] = {"cut", "badbytes"};
    static const char text[] = "caf\xc3\xa9 au lait";
    for (size_t i = 0; i < 2 * sizeof modes / sizeof modes[0]; i++) {
        const char *mode = modes[i / 2];
        int fail_open = i % 2;
        char cfg[256];
        struct gh_result r;
        snprintf(cfg, sizeof cfg,
                 "[{\"name\":\"tguard\",%s\"config\":{\"delta\":\"%s\",\"word\":\"\\u00e9\"}}]",
                 fail_open ? "\"fail_open\":true," : "", mode);
        struct gw_guard_chain *c = chain(cfg);
        gh_answer(c, text, sizeof text - 1, NULL, 0, 1, &r);
        cr_assert_eq(r.verdict, fail_open ? GW_GUARD_ALLOW : GW_GUARD_FAILED,
                     "%s: verdict %d, sent '%s'", cfg, r.verdict, r.text ? r.text : "");
        cr_assert_eq(gw_utf8_invalid_at(r.text, strlen(r.text)), (size_t)-1, "%s", cfg);
        if (fail_open) /* the guard is skipped: the text goes as it came */
            cr_assert_str_eq(r.text, text, "%s", cfg);
        gh_result_free(&r);
        gw_guard_chain_free(c);
    }
}

/* A chat request may ask for up to 128 choices: with a delta guard, the 65th choice's text
 * (or the 33rd's, with reasoning) ended the answer with an error. */
Test(chain, every_choice_a_request_may_ask_for)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 20);
    for (int k = 0; k < 128; k++) {
        struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_REASONING, k);
        ch.text = aigw_bytes_of("a secret thought");
        cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0, "choice %d", k);
        ch = aigw_chunk_init(AIGW_CHUNK_TEXT, k);
        ch.text = aigw_bytes_of("an answer");
        cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0, "choice %d", k);
    }
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    int redacted = 0;
    for (const char *p = out.ptr; (p = strstr(p, "[X]")); p++)
        redacted++;
    cr_assert_eq(redacted, 128, "%s", out.ptr);
    cr_assert_not_null(strstr(out.ptr, "|2/127:"), "%s", out.ptr);
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

Test(chain, other_operations_pass_the_output_stage)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"deny\","
                                     "\"final\":\"deny\"}}]");
    struct gw_guard_run_opts o = {AIGW_OP_EMBEDDINGS, 0, "e", "openai", "r", NULL};
    struct gw_guard_run *r = gw_guard_run_new(c, &o);
    struct gw_buf out;
    gw_buf_init(&out, 4096);
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    ch.text = aigw_bytes_of("secret");
    cr_assert_eq(gw_guard_on_chunk(r, &ch, counting, &out), 0);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    cr_assert_str_eq(out.ptr, "2/0:secret|");
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

/* ---- final hooks -------------------------------------------------------------------------- */

Test(chain, final_hooks_see_the_whole_edited_answer)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}},"
                                     "{\"name\":\"tguard\",\"stage\":\"output\","
                                     "\"config\":{\"final\":\"check\",\"word\":\"a [X] b\"}}]");
    struct gh_result r;
    size_t cuts[] = {1, 4, 6};
    gh_answer(c, "a secret b", 10, cuts, 3, 1, &r);
    cr_assert_eq(r.verdict, GW_GUARD_ALLOW, "%s", r.error ? r.error : "");
    cr_assert_str_eq(r.text, "a [X] b");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(chain, retry_once_when_not_streamed)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"final\":\"retry\"}}]");
    struct gw_guard_run *r = run_new(c, 0);
    struct gw_buf out;
    gw_buf_init(&out, 4096);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TEXT, 0),
                      f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    t.text = aigw_bytes_of("first answer");
    f.finish = AIGW_FINISH_STOP;
    cr_assert_eq(gw_guard_on_request(r, NULL), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), GW_GUARD_RETRY);
    cJSON *body = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}");
    cr_assert_eq(gw_guard_retry_body(r, body), 0);
    char *s = cJSON_PrintUnformatted(body);
    cr_assert_str_eq(s,
                     "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                     "{\"role\":\"assistant\",\"content\":\"first answer\"},"
                     "{\"role\":\"user\",\"content\":\"answer again without it (attempt 0)\"}]}");
    free(s);
    /* The second answer may not ask again: the note becomes a deny. */
    t.text = aigw_bytes_of("second");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), GW_GUARD_DENY);
    struct aigw_error e;
    cr_assert_eq(gw_guard_error(r, &e), 0);
    cr_assert_str_eq(e.message, "answer blocked by guardrail 'tguard': answer again without it "
                                "(attempt 1)");
    cJSON_Delete(body);
    gw_guard_run_free(r);
    cr_assert_eq(gw_guard_chain_count(c, 0, AIGW_GUARD_OUTPUT, GW_GUARD_O_DENY), 1);
    gw_buf_free(&out);
    /* Streamed: no retry, straight to deny. */
    struct gh_result g;
    gh_answer(c, "x", 1, NULL, 0, 1, &g);
    cr_assert_eq(g.verdict, GW_GUARD_DENY);
    gh_result_free(&g);
    gw_guard_chain_free(c);
}

Test(chain, a_waiting_final_hook_queues_what_follows)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"final\":\"fetch\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 4096);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TEXT, 0),
                      f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    struct aigw_usage u;
    aigw_usage_init(&u);
    u.prompt_tokens = 3;
    struct aigw_chunk us = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    us.usage = &u;
    t.text = aigw_bytes_of("hello");
    cr_assert_eq(gw_guard_on_request(r, NULL), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_on_chunk(r, &us, counting, &out), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), GW_GUARD_PENDING);
    cr_assert_str_eq(out.ptr, "2/0:hello|");
    cr_assert_eq(gw_guard_resume(r, counting, &out), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_fetch_done(r, 200, "ok", 2, 5), 0);
    cr_assert_eq(gw_guard_resume(r, counting, &out), GW_GUARD_ALLOW);
    cr_assert_str_eq(out.ptr, "2/0:hello|6/0:|7/0:|");
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

/* Another attempt (a fallback before the client got a byte) answers afresh: nothing the run
 * held of the failed one (text in the window, a tool call held whole, a choice's text kept for
 * the final hooks) goes out or is judged with the new answer. */
static int tool_piece(struct gw_guard_run *r, int index, const char *id, const char *args,
                      struct gw_buf *out);

Test(chain, another_attempt_starts_with_an_empty_answer)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"hold\",\"word\":\"4111\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 16);
    struct aigw_chunk t = aigw_chunk_init(AIGW_CHUNK_TEXT, 0);
    struct aigw_chunk f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    f.finish = AIGW_FINISH_STOP;
    cr_assert_eq(gw_guard_on_request(r, NULL), 0);
    t.text = aigw_bytes_of("4111 1111");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(out.len, 0, "held: %.*s", (int)out.len, out.ptr);
    cr_assert_eq(gw_guard_answer_reset(r), 0);
    cr_assert_eq(tool_piece(r, 0, "call_old", "{\"q\":\"", &out), 0);
    cr_assert_eq(out.len, 0, "held: %.*s", (int)out.len, out.ptr);
    cr_assert_eq(gw_guard_answer_reset(r), 0);
    t.text = aigw_bytes_of("a new answer");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), 0);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    cr_assert_str_eq(out.ptr, "2/0:a ne|2/0:w answer|6/0:|"); /* tguard holds 8 bytes back */
    gw_guard_run_free(r);
    gw_guard_chain_free(c);

    /* A final hook judges the new answer's text alone (check: exactly "fresh"). */
    c = chain("[{\"name\":\"tguard\",\"config\":{\"final\":\"check\",\"word\":\"fresh\"}}]");
    r = run_new(c, 0);
    gw_buf_reset(&out);
    cr_assert_eq(gw_guard_on_request(r, NULL), 0);
    t.text = aigw_bytes_of("stale ");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_answer_reset(r), 0);
    t.text = aigw_bytes_of("fresh");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), 0);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), GW_GUARD_ALLOW);
    gw_guard_run_free(r);
    gw_guard_chain_free(c);

    /* Not while a final hook waits for its call about the answer, nor once one was refused. */
    c = chain("[{\"name\":\"tguard\",\"config\":{\"final\":\"fetch\"}}]");
    r = run_new(c, 0);
    cr_assert_eq(gw_guard_on_chunk(r, &f, counting, &out), GW_GUARD_PENDING);
    cr_assert_eq(gw_guard_answer_reset(r), AIGW_EINVAL);
    gw_guard_run_free(r);
    gw_guard_chain_free(c);
    c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"deny\"}}]");
    r = run_new(c, 1);
    t.text = aigw_bytes_of("a secret");
    cr_assert_eq(gw_guard_on_chunk(r, &t, counting, &out), GW_GUARD_DENY);
    cr_assert_eq(gw_guard_answer_reset(r), AIGW_EINVAL);
    gw_guard_run_free(r);
    gw_guard_chain_free(c);
    gw_buf_free(&out);
}

/* ---- errors ------------------------------------------------------------------------------- */

Test(chain, error_messages_are_scrubbed_or_withheld)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"error\":\"redact\"}}]");
    struct gw_guard_run *r = run_new(c, 0);
    struct aigw_error e;
    aigw_error_init(&e);
    e.message = "bad prompt: secret";
    cr_assert_eq(gw_guard_on_error(r, &e), 0);
    cr_assert_str_eq(e.message, "bad prompt: [X]");
    gw_guard_run_free(r);
    gw_guard_chain_free(c);
    c = chain("[{\"name\":\"tguard\",\"config\":{\"error\":\"fail\"}}]");
    r = run_new(c, 0);
    e.message = "bad prompt: secret";
    cr_assert_eq(gw_guard_on_error(r, &e), 0);
    cr_assert_str_eq(e.message, "the upstream error message was withheld by a guardrail");
    cr_assert_null(gw_guard_blocked_by(r), "an error hook never refuses the request");
    gw_guard_run_free(r);
    gw_guard_chain_free(c);
}

Test(chain, a_delta_hook_may_not_wait)
{
    struct gw_guard_chain *c = chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"pending\"}}]");
    struct gh_result r;
    gh_answer(c, "abc", 3, NULL, 0, 1, &r);
    cr_assert_eq(r.verdict, GW_GUARD_FAILED);
    cr_assert_str_eq(r.error, "guardrail 'tguard' failed (on_answer_delta: verdict 4 is not "
                              "allowed here); the request was refused");
    gh_result_free(&r);
    gw_guard_chain_free(c);
}

Test(chain, secrets_from_create_are_redacted)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"config\":{\"key\":\"tg-service-key-98765\"}}]");
    char out[128];
    gw_redact("key tg-service-key-98765 end", 28, out, sizeof out);
    cr_assert_str_eq(out, "key [REDACTED] end");
    gw_redact_reset();
    gw_guard_chain_free(c);
}

/* ---- tool calls ----------------------------------------------------------------------------- */

static int tool_piece(struct gw_guard_run *r, int index, const char *id, const char *args,
                      struct gw_buf *out)
{
    struct aigw_chunk ch = aigw_chunk_init(AIGW_CHUNK_TOOL_CALL, 0);
    ch.tool_index = index;
    if (id) {
        ch.id = aigw_bytes_of(id);
        ch.name = aigw_bytes_of("f");
    }
    ch.text = aigw_bytes_of(args);
    return gw_guard_on_chunk(r, &ch, counting, out);
}

/* A delta guard reads a call's arguments whole, however they were cut: each member name,
 * decoded string and number; its edits leave JSON (a number it edited becomes a string).
 * Arguments that are not JSON are read and edited as one text. Calls go on in order, whole. */
Test(chain, a_tool_calls_names_strings_and_numbers_are_read_whole)
{
    struct gw_guard_chain *c =
        chain("[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\",\"word\":\"4111\"}}]");
    struct gw_guard_run *r = run_new(c, 1);
    struct gw_buf out;
    gw_buf_init(&out, 1 << 16);
    cr_assert_eq(tool_piece(r, 0, "call_1", "{\"4111\":\"card \\u003411", &out), 0);
    cr_assert_eq(tool_piece(r, 0, NULL, "1 ok\",\"n\":41110,\"l\":[true,null]}", &out), 0);
    cr_assert_eq(tool_piece(r, 1, "call_2", "not json 41", &out), 0);
    cr_assert_eq(tool_piece(r, 1, NULL, "11", &out), 0);
    cr_assert_eq(out.len, 0, "a piece went out before the call was whole: %.*s", (int)out.len,
                 out.ptr);
    cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
    cr_assert_str_eq(out.ptr, "5/0:{\"[X]\":\"card [X] ok\",\"n\":\"[X]0\",\"l\":[true,null]}|"
                              "5/0:not json [X]|");
    cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_OUTPUT), GW_GUARD_O_REWRITE);
    gw_guard_run_free(r);
    gw_buf_free(&out);
    gw_guard_chain_free(c);
}

/* Past the cap on held arguments no guard can judge them: a failure of the guard, which
 * fail_open turns into arguments passed on unread (every byte, in order). */
Test(chain, tool_calls_past_the_cap_fail_the_guard_unless_it_fails_open)
{
    size_t piece = 64u << 10, n = GW_GUARD_ANSWER_CAP / piece + 1;
    char *p = malloc(piece + 1);
    memset(p, 'a', piece);
    p[piece] = '\0';
    for (int open = 0; open < 2; open++) {
        struct gw_guard_chain *c = chain(
            open ? "[{\"name\":\"tguard\",\"fail_open\":true,\"config\":{\"delta\":\"redact\"}}]"
                 : "[{\"name\":\"tguard\",\"config\":{\"delta\":\"redact\"}}]");
        struct gw_guard_run *r = run_new(c, 1);
        struct gw_buf out;
        gw_buf_init(&out, 2 * GW_GUARD_ANSWER_CAP);
        int v = 0;
        for (size_t i = 0; i < n && v == 0; i++)
            v = tool_piece(r, 0, i ? NULL : "call_1", p, &out);
        if (!open) {
            cr_assert_eq(v, GW_GUARD_FAILED);
            cr_assert_eq(out.len, 0);
            cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_OUTPUT), GW_GUARD_O_FAIL_CLOSED);
        } else {
            cr_assert_eq(v, 0);
            cr_assert_eq(gw_guard_on_end(r, counting, &out), 0);
            /* what was held, as one chunk, then the piece past the cap ("5/0:" ... "|" each) */
            cr_assert_eq(out.len, n * piece + 2 * 5, "%zu", out.len);
            cr_assert_eq(gw_guard_run_outcome(r, 0, AIGW_GUARD_OUTPUT), GW_GUARD_O_FAIL_OPEN);
        }
        gw_guard_run_free(r);
        gw_buf_free(&out);
        gw_guard_chain_free(c);
    }
    free(p);
}
