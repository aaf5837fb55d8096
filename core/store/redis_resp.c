/* redis_resp - RESP replies and commands on hiredis' reader and formatter (see redis_resp.h). */
#include "store/redis_resp.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "aigw/plugin.h"

struct gw_resp_reader {
    redisReader *r;
    size_t max_buffer;
    size_t max_elements;
    const char *error; /* set once the reader failed */
};

/* The reader carries its owner in privdata so the object hooks can read the caps. */
static struct gw_resp_reader *owner(const redisReadTask *t)
{
    /* hiredis 0.14 gives the hooks the task, and the task's privdata is the reader's. */
    return t->privdata;
}

static void link_parent(const redisReadTask *t, struct gw_resp *o)
{
    if (t->parent) {
        struct gw_resp *p = t->parent->obj;
        if (p && p->type == GW_RESP_ARRAY && t->idx >= 0 && (size_t)t->idx < p->elements)
            p->element[t->idx] = o;
    }
}

static void *create_string(const redisReadTask *t, char *s, size_t len)
{
    if (t->type != GW_RESP_STRING && t->type != GW_RESP_STATUS && t->type != GW_RESP_ERROR)
        return NULL;
    struct gw_resp *o = calloc(1, sizeof *o);
    char *copy = malloc(len + 1);
    if (!o || !copy) {
        free(o);
        free(copy);
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    o->type = t->type;
    o->str = copy;
    o->len = len;
    link_parent(t, o);
    return o;
}

static void *create_array(const redisReadTask *t, int elements)
{
    struct gw_resp_reader *rd = owner(t);
    /* A refusal here becomes the reader's "out of memory" error: the connection is dropped
     * before a hostile header can make us allocate for it. */
    if (elements < 0 || (rd && (size_t)elements > rd->max_elements))
        return NULL;
    struct gw_resp *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->type = GW_RESP_ARRAY;
    if (elements > 0) {
        o->element = calloc((size_t)elements, sizeof *o->element);
        if (!o->element) {
            free(o);
            return NULL;
        }
    }
    o->elements = (size_t)elements;
    link_parent(t, o);
    return o;
}

static void *create_integer(const redisReadTask *t, long long v)
{
    struct gw_resp *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->type = GW_RESP_INTEGER;
    o->integer = v;
    link_parent(t, o);
    return o;
}

static void *create_nil(const redisReadTask *t)
{
    struct gw_resp *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->type = GW_RESP_NIL;
    link_parent(t, o);
    return o;
}

void gw_resp_free(struct gw_resp *o)
{
    if (!o)
        return;
    if (o->type == GW_RESP_ARRAY) {
        for (size_t i = 0; i < o->elements; i++)
            gw_resp_free(o->element[i]);
        free(o->element);
    }
    free(o->str);
    free(o);
}

static void free_object(void *o)
{
    gw_resp_free(o);
}

static redisReplyObjectFunctions hooks = {
    .createString = create_string,
    .createArray = create_array,
    .createInteger = create_integer,
    .createNil = create_nil,
    .freeObject = free_object,
};

int gw_resp_reader_new(size_t max_buffer, size_t max_elements, struct gw_resp_reader **out)
{
    struct gw_resp_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return AIGW_ENOMEM;
    rd->r = redisReaderCreateWithFunctions(&hooks);
    if (!rd->r) {
        free(rd);
        return AIGW_ENOMEM;
    }
    rd->r->privdata = rd;
    rd->max_buffer = max_buffer ? max_buffer : (size_t)1 << 20;
    rd->max_elements = max_elements ? max_elements : 4096;
    *out = rd;
    return 0;
}

void gw_resp_reader_free(struct gw_resp_reader *rd)
{
    if (!rd)
        return;
    redisReaderFree(rd->r);
    free(rd);
}

int gw_resp_reader_feed(struct gw_resp_reader *rd, const char *p, size_t n)
{
    if (rd->error)
        return AIGW_EPROTO;
    size_t unread = rd->r->len - rd->r->pos;
    if (n > rd->max_buffer || unread > rd->max_buffer - n) {
        rd->error = "reply larger than the reader's cap";
        return AIGW_ETOOBIG;
    }
    if (n == 0)
        return 0;
    if (redisReaderFeed(rd->r, p, n) != REDIS_OK) {
        rd->error = "out of memory";
        return AIGW_ENOMEM;
    }
    return 0;
}

int gw_resp_reader_next(struct gw_resp_reader *rd, struct gw_resp **out)
{
    *out = NULL;
    if (rd->error)
        return AIGW_EPROTO;
    void *reply = NULL;
    if (redisReaderGetReply(rd->r, &reply) != REDIS_OK) {
        /* hiredis' text may quote the offending bytes: keep ours, which never does. */
        rd->error =
            rd->r->err == REDIS_ERR_OOM ? "reply over a cap or out of memory" : "protocol error";
        gw_resp_free(reply);
        return AIGW_EPROTO;
    }
    if (!reply)
        return 0;
    *out = reply;
    return 1;
}

const char *gw_resp_reader_error(const struct gw_resp_reader *rd)
{
    return rd->error ? rd->error : "";
}

int gw_resp_format(struct gw_buf *out, int argc, const char *const *argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, (const char **)argv, lens);
    if (n < 0)
        return AIGW_ENOMEM;
    int rc = gw_buf_append(out, cmd, (size_t)n);
    redisFreeCommand(cmd);
    return rc;
}
