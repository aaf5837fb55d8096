/* redis_cmd - queueing a command on the Redis client (see redis.h): formatting it into the
 * output buffer with its waiting entry, and EVALSHA for scripts. The connection and replies
 * are redis.c's. */
#include "store/redis.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "store/redis_int.h"

static int submit(struct gw_redis *r, int argc, const char *const *argv, const size_t *lens,
                  int64_t deadline, gw_redis_cb cb, void *ud, const struct gw_redis_script *s)
{
    if (!gw_redis_ready(r))
        return GW_REDIS_EDOWN;
    if (deadline <= gw_redis_now_ms())
        return GW_REDIS_ETIMEDOUT;
    if (r->npending >= r->o.max_pending)
        return AIGW_ETOOBIG;
    size_t before = r->out.len;
    int rc = gw_resp_format(&r->out, argc, argv, lens);
    if (rc != 0) {
        r->out.len = before;
        return rc;
    }
    char *copy = NULL;
    size_t n = r->out.len - before;
    if (s && !(copy = malloc(n))) {
        r->out.len = before;
        return AIGW_ENOMEM;
    }
    if (copy)
        memcpy(copy, r->out.ptr + before, n);
    struct pending *p = gw_redis_push(r, cb, ud, deadline);
    if (!p) {
        free(copy);
        r->out.len = before;
        return AIGW_ENOMEM;
    }
    p->script = s;
    p->cmd = copy;
    p->cmdlen = n;
    /* The bytes are queued: a failed send is handled on the next turn (timeout 0), so the
     * callback never runs inside this call. */
    if (!r->want_out)
        gw_redis_flush_out(r);
    return 0;
}

int gw_redis_command(struct gw_redis *r, int argc, const char *const *argv, const size_t *lens,
                     int64_t deadline_ms, gw_redis_cb cb, void *ud)
{
    if (argc < 1 || !cb)
        return AIGW_EINVAL;
    return submit(r, argc, argv, lens, deadline_ms, cb, ud, NULL);
}

#define EVAL_MAX_ARGS 32

int gw_redis_eval(struct gw_redis *r, const struct gw_redis_script *s, int nkeys, int argc,
                  const char *const *argv, const size_t *lens, int64_t deadline_ms, gw_redis_cb cb,
                  void *ud)
{
    if (!cb || nkeys < 0 || nkeys > argc || argc > EVAL_MAX_ARGS - 3)
        return AIGW_EINVAL;
    const char *av[EVAL_MAX_ARGS];
    size_t al[EVAL_MAX_ARGS];
    char nk[16];
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = s->sha;
    al[1] = 40;
    al[2] = gw_fmt_i64(nk, sizeof nk, nkeys);
    av[2] = nk;
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = lens[i];
    }
    return submit(r, argc + 3, av, al, deadline_ms, cb, ud, s);
}
