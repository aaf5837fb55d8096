/*
 * A cached answer as a chunk log: every chunk type a replay needs comes back field for field
 * (text, reasoning and its signature, refusals, tool-call pieces, finish, usage, embeddings,
 * extra fields), the response's own id never does, what is not a whole successful answer is
 * never complete, and a damaged log is refused whole (at every truncation and every flipped
 * byte) before anything of it is replayed.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "aigw/plugin.h"
#include "usage.h"
#include "cache/chunklog.h"

#define MAXC 32

struct seen {
    struct aigw_chunk c[MAXC];
    char *strs[MAXC * 3];
    int nstr;
    struct aigw_usage usage[MAXC];
    double vec[MAXC][4];
    char *extra[MAXC];
    int n;
};

static struct aigw_bytes keep(struct seen *s, struct aigw_bytes b)
{
    char *p = malloc(b.len + 1);
    if (b.len)
        memcpy(p, b.ptr, b.len);
    p[b.len] = '\0';
    s->strs[s->nstr++] = p;
    return (struct aigw_bytes){p, b.len};
}

static int collect(void *ud, const struct aigw_chunk *c)
{
    struct seen *s = ud;
    cr_assert_lt(s->n, MAXC);
    struct aigw_chunk *d = &s->c[s->n];
    *d = *c;
    d->id = keep(s, c->id);
    d->name = keep(s, c->name);
    d->text = keep(s, c->text);
    if (c->usage) {
        s->usage[s->n] = *c->usage;
        d->usage = &s->usage[s->n];
    }
    if (c->vector) {
        cr_assert_leq(c->vector_len, 4);
        memcpy(s->vec[s->n], c->vector, c->vector_len * sizeof(double));
        d->vector = s->vec[s->n];
    }
    s->extra[s->n] = c->extra ? cJSON_PrintUnformatted(c->extra) : NULL;
    d->extra = NULL;
    s->n++;
    return 0;
}

static void seen_free(struct seen *s)
{
    for (int i = 0; i < s->nstr; i++)
        free(s->strs[i]);
    for (int i = 0; i < s->n; i++)
        cJSON_free(s->extra[i]);
}

static int bytes_eq(struct aigw_bytes b, const char *s)
{
    return b.len == strlen(s) && (!b.len || memcmp(b.ptr, s, b.len) == 0);
}

static struct aigw_chunk chunk(int type, int choice, const char *text)
{
    struct aigw_chunk c = aigw_chunk_init(type, choice);
    c.text = aigw_bytes_of(text);
    return c;
}

/* A chat answer with everything a replay must carry. */
static void record_all(struct gw_cache_rec *rec)
{
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_META, 0);
    c.id = aigw_bytes_of("chatcmpl-upstream-id");
    c.name = aigw_bytes_of("gpt-4o-2024-08-06");
    c.created = 1732406400;
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_REASONING, 0, "Let me think");
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_REASONING_SIGNATURE, 0, "sig==");
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_TEXT, 0, "Hel");
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_TEXT, 0, "lo \xe2\x82\xac");
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_TOOL_CALL, 0, "{\"city\":");
    c.tool_index = 1;
    c.id = aigw_bytes_of("call_abc");
    c.name = aigw_bytes_of("get_weather");
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_TOOL_CALL, 0, "\"Paris\"}");
    c.tool_index = 1;
    gw_cache_rec_add(rec, &c);
    c = chunk(AIGW_CHUNK_REFUSAL, 1, "no");
    gw_cache_rec_add(rec, &c);
    c = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    c.finish = AIGW_FINISH_TOOL_CALLS;
    gw_cache_rec_add(rec, &c);
    cJSON *cites = cJSON_Parse("[\"https://a.example\",{\"n\":1.5}]");
    c = aigw_chunk_init(AIGW_CHUNK_EXTRA, 0);
    c.name = aigw_bytes_of("citations");
    c.extra = cites;
    gw_cache_rec_add(rec, &c);
    cJSON_Delete(cites);
    struct aigw_usage u = USAGE(120, 45, 100, -1, 30);
    c = aigw_chunk_init(AIGW_CHUNK_USAGE, 0);
    c.usage = &u;
    gw_cache_rec_add(rec, &c);
}

Test(cache_chunklog, every_chunk_comes_back_field_for_field)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 1 << 20);
    record_all(&rec);
    cr_assert(gw_cache_rec_complete(&rec));
    cr_assert_eq(gw_cache_log_check(rec.log.ptr, rec.log.len), 0);
    struct seen s = {0};
    cr_assert_eq(gw_cache_log_replay(rec.log.ptr, rec.log.len, collect, &s), 0);
    cr_assert_eq(s.n, 11);
    cr_assert_eq(s.c[0].type, AIGW_CHUNK_META);
    cr_assert(bytes_eq(s.c[0].name, "gpt-4o-2024-08-06"));
    cr_assert(bytes_eq(s.c[0].id, ""), "the upstream's response id is never replayed");
    cr_assert_eq(s.c[0].created, 0, "nor its time");
    cr_assert_eq(s.c[1].type, AIGW_CHUNK_REASONING);
    cr_assert(bytes_eq(s.c[1].text, "Let me think"));
    cr_assert_eq(s.c[2].type, AIGW_CHUNK_REASONING_SIGNATURE);
    cr_assert(bytes_eq(s.c[2].text, "sig=="));
    cr_assert(bytes_eq(s.c[3].text, "Hel") && bytes_eq(s.c[4].text, "lo \xe2\x82\xac"),
              "pieces stay pieces");
    cr_assert_eq(s.c[5].type, AIGW_CHUNK_TOOL_CALL);
    cr_assert_eq(s.c[5].tool_index, 1);
    cr_assert(bytes_eq(s.c[5].id, "call_abc") && bytes_eq(s.c[5].name, "get_weather"));
    cr_assert(bytes_eq(s.c[5].text, "{\"city\":"));
    cr_assert(bytes_eq(s.c[6].id, "") && bytes_eq(s.c[6].text, "\"Paris\"}"));
    cr_assert_eq(s.c[7].type, AIGW_CHUNK_REFUSAL);
    cr_assert_eq(s.c[7].choice, 1);
    cr_assert_eq(s.c[8].type, AIGW_CHUNK_FINISH);
    cr_assert_eq(s.c[8].finish, AIGW_FINISH_TOOL_CALLS);
    cr_assert_eq(s.c[9].type, AIGW_CHUNK_EXTRA);
    cr_assert(bytes_eq(s.c[9].name, "citations"));
    cr_assert_str_eq(s.extra[9], "[\"https://a.example\",{\"n\":1.5}]");
    cr_assert_eq(s.c[10].type, AIGW_CHUNK_USAGE);
    const struct aigw_usage *u = s.c[10].usage;
    cr_assert(u->prompt_tokens == 120 && u->completion_tokens == 45 && u->cached_tokens == 100 &&
              u->cache_write_tokens == -1 && u->reasoning_tokens == 30);
    char model[64];
    gw_cache_log_model(rec.log.ptr, rec.log.len, model, sizeof model);
    cr_assert_str_eq(model, "gpt-4o-2024-08-06");
    gw_cache_log_model(rec.log.ptr, rec.log.len, model, 4);
    cr_assert_str_eq(model, "gpt", "cut to the room given");
    seen_free(&s);
    gw_cache_rec_free(&rec);
}

Test(cache_chunklog, embeddings_round_trip_exactly)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 1 << 20);
    const double v0[] = {0.1, -2.5e-10, 3.0, -0.0}, v1[] = {1.0 / 3.0};
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_EMBEDDING, 0);
    c.vector = v0;
    c.vector_len = 4;
    gw_cache_rec_add(&rec, &c);
    c = aigw_chunk_init(AIGW_CHUNK_EMBEDDING, 1);
    c.vector = v1;
    c.vector_len = 1;
    gw_cache_rec_add(&rec, &c);
    cr_assert(gw_cache_rec_complete(&rec), "embeddings have no finish");
    struct seen s = {0};
    cr_assert_eq(gw_cache_log_replay(rec.log.ptr, rec.log.len, collect, &s), 0);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.c[0].vector_len, 4);
    cr_assert_eq(memcmp(s.vec[0], v0, sizeof v0), 0, "bit for bit");
    cr_assert_eq(s.c[1].choice, 1);
    cr_assert_eq(memcmp(s.vec[1], v1, sizeof v1), 0);
    seen_free(&s);
    gw_cache_rec_free(&rec);
}

Test(cache_chunklog, only_a_whole_successful_answer_is_complete)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 1 << 20);
    struct aigw_chunk t = chunk(AIGW_CHUNK_TEXT, 0, "partial");
    gw_cache_rec_add(&rec, &t);
    cr_assert(!gw_cache_rec_complete(&rec), "no finish: a cut stream");

    struct aigw_chunk f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    f.finish = AIGW_FINISH_CONTENT_FILTER;
    gw_cache_rec_add(&rec, &f);
    cr_assert(!gw_cache_rec_complete(&rec), "a filtered answer is never kept");

    gw_cache_rec_reset(&rec);
    gw_cache_rec_add(&rec, &t);
    struct aigw_error e;
    aigw_error_init(&e);
    struct aigw_chunk ec = aigw_chunk_init(AIGW_CHUNK_ERROR, 0);
    ec.error = &e;
    gw_cache_rec_add(&rec, &ec);
    f.finish = AIGW_FINISH_STOP;
    gw_cache_rec_add(&rec, &f);
    cr_assert(!gw_cache_rec_complete(&rec), "an error ends it for good");

    gw_cache_rec_reset(&rec);
    gw_cache_rec_add(&rec, &t);
    gw_cache_rec_add(&rec, &f);
    cr_assert(gw_cache_rec_complete(&rec), "a reset starts a new answer");

    struct aigw_chunk img = aigw_chunk_init(AIGW_CHUNK_IMAGE, 0);
    gw_cache_rec_add(&rec, &img);
    cr_assert(!gw_cache_rec_complete(&rec), "a chunk the log cannot hold");
    gw_cache_rec_free(&rec);
}

Test(cache_chunklog, past_its_cap_nothing_is_kept)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 64);
    char text[100];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    struct aigw_chunk t = chunk(AIGW_CHUNK_TEXT, 0, text);
    gw_cache_rec_add(&rec, &t);
    struct aigw_chunk f = aigw_chunk_init(AIGW_CHUNK_FINISH, 0);
    f.finish = AIGW_FINISH_STOP;
    gw_cache_rec_add(&rec, &f);
    cr_assert(!gw_cache_rec_complete(&rec));
    cr_assert_eq(rec.log.len, 0, "its memory was let go");
    gw_cache_rec_free(&rec);
}

static int count(void *ud, const struct aigw_chunk *c)
{
    (void)c;
    ++*(int *)ud;
    return 0;
}

Test(cache_chunklog, a_damaged_log_is_refused_whole)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 1 << 20);
    record_all(&rec);
    const unsigned char *log = (const unsigned char *)rec.log.ptr;
    size_t len = rec.log.len;
    unsigned char *copy = malloc(len);
    /* Every proper prefix is refused (a record cut anywhere, or nothing after the magic);
     * prefixes ending exactly between records are whole, shorter answers. */
    int whole_prefixes = 0;
    for (size_t n = 0; n < len; n++) {
        memcpy(copy, log, n);
        if (gw_cache_log_check(copy, n) == 0)
            whole_prefixes++;
    }
    cr_assert_eq(whole_prefixes, 10, "only the 10 boundaries after a record (of 11) read whole");
    /* A flipped byte is refused or reads as another well-formed log: never a crash, never
     * past the end (ASan watches), and never more chunks than bytes. */
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, log, len);
            copy[i] ^= (unsigned char)(1u << bit);
            if (gw_cache_log_check(copy, len) == 0) {
                int n = 0;
                cr_assert_eq(gw_cache_log_replay(copy, len, count, &n), 0);
                cr_assert_leq((size_t)n, len);
            }
        }
    }
    cr_assert_eq(gw_cache_log_check("AGC2\x02\x00\x00\x00\x00\x00\x00", 11), AIGW_EPROTO);
    cr_assert_eq(gw_cache_log_check("AGC1", 4), AIGW_EPROTO, "an answer has a chunk");
    cr_assert_eq(gw_cache_log_check("AGC1\x08\x00\x00\x00\x00\x00\x00", 11), AIGW_EPROTO,
                 "an error chunk is never in a log");
    free(copy);
    gw_cache_rec_free(&rec);
}

/* Pauses every other time it is asked. */
static int every_other(void *ud)
{
    int *n = ud;
    return (*n)++ % 2;
}

struct stepped {
    struct seen s;
    int gate_calls;
};

static int stepped_emit(void *ud, const struct aigw_chunk *c)
{
    return collect(&((struct stepped *)ud)->s, c);
}

static int stepped_gate(void *ud)
{
    return every_other(&((struct stepped *)ud)->gate_calls);
}

static int stop_now(void *ud)
{
    (void)ud;
    return AIGW_EINTERNAL;
}

Test(cache_chunklog, a_replay_in_steps_is_the_same_replay)
{
    struct gw_cache_rec rec;
    gw_cache_rec_init(&rec, 1 << 20);
    record_all(&rec);
    struct seen whole = {0};
    cr_assert_eq(gw_cache_log_replay(rec.log.ptr, rec.log.len, collect, &whole), 0);
    struct stepped st;
    memset(&st, 0, sizeof st);
    size_t pos = 0;
    int rc, pauses = 0;
    while ((rc = gw_cache_log_replay_some(rec.log.ptr, rec.log.len, &pos, stepped_emit,
                                          stepped_gate, &st)) > 0)
        pauses++;
    cr_assert_eq(rc, 0);
    cr_assert_gt(pauses, 5, "it paused and went on");
    cr_assert_eq(pos, rec.log.len);
    cr_assert_eq(st.s.n, whole.n);
    for (int i = 0; i < whole.n; i++) {
        cr_assert_eq(st.s.c[i].type, whole.c[i].type, "chunk %d", i);
        cr_assert_eq(st.s.c[i].text.len, whole.c[i].text.len, "chunk %d", i);
    }
    /* A gate that says stop ends it with its own code, nothing emitted. */
    struct seen none = {0};
    pos = 0;
    cr_assert_eq(gw_cache_log_replay_some(rec.log.ptr, rec.log.len, &pos, collect, stop_now, &none),
                 AIGW_EINTERNAL);
    cr_assert_eq(none.n, 0);
    seen_free(&whole);
    seen_free(&st.s);
    gw_cache_rec_free(&rec);
}
