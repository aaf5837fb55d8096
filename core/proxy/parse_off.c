/*
 * parse_off - the parse phase, off the worker, for a body whose parse reads the state store:
 * a Responses conversation continued by previous_response_id is read back response by
 * response, one query each, and item references one response each. With PostgreSQL a long
 * conversation is as many round trips, during which a worker that parsed it would serve
 * none of its other connections. Such a body (its parse on the worker stops with
 * GW_PARSE_STORE before any read) is parsed again on the offload thread while the request
 * sleeps (offload.h); any other is parsed where it always was, once.
 *
 * The job owns copies of what the parse reads (the body, the path, the caller's key id and
 * the two headers that say who owns the conversation), never the request: a request whose
 * connection goes while the job runs is freed as any other, and the job's result with the
 * wait.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "proxy/offload.h"
#include "proxy/req_int.h"

struct parse_job {
    struct gw_wait *w;
    const struct gw_dialect *d;
    char *body;
    size_t len;
    char path[sizeof((struct gw_req *)0)->path];
    char key_id[GW_KEY_ID_LEN + 4];
    int has_key;
    char *auth, *api_key; /* the caller's Authorization and x-api-key, when sent */
};

struct parse_result {
    struct gw_parsed parsed;
    struct gw_front_err ferr;
    int rc;
};

static void result_free(void *p)
{
    struct parse_result *res = p;
    gw_parsed_free(&res->parsed);
    free(res);
}

static char *secret_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void secret_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void job_free(struct parse_job *j)
{
    free(j->body);
    secret_free(j->auth);
    secret_free(j->api_key);
    free(j);
}

static const char *job_header(void *ud, const char *name)
{
    struct parse_job *j = ud;
    if (!strcasecmp(name, "Authorization"))
        return j->auth;
    if (!strcasecmp(name, "x-api-key"))
        return j->api_key;
    return NULL;
}

/* On the offload thread. */
static void parse_run(void *arg)
{
    struct parse_job *j = arg;
    struct parse_result *res = calloc(1, sizeof *res);
    if (res) {
        struct gw_inbound in = {
            .body = j->body,
            .len = j->len,
            .path = j->path,
            .header = job_header,
            .header_ud = j,
            .key_id = j->has_key ? j->key_id : NULL,
        };
        res->rc = j->d->parse(&in, &res->parsed, &res->ferr);
    }
    gw_wait_done(j->w, res ? 0 : AIGW_ENOMEM, res);
    job_free(j);
}

int gw_parse_off(struct gw_req *r, const struct gw_inbound *in)
{
    struct parse_job *j = calloc(1, sizeof *j);
    if (!j)
        return 0;
    j->d = r->dialect;
    j->len = in->len;
    j->body = malloc(in->len ? in->len : 1);
    j->auth = secret_dup(in->header(in->header_ud, "Authorization"));
    j->api_key = secret_dup(in->header(in->header_ud, "x-api-key"));
    gw_strlcpy(j->path, in->path ? in->path : "", sizeof j->path);
    if (in->key_id) {
        gw_strlcpy(j->key_id, in->key_id, sizeof j->key_id);
        j->has_key = 1;
    }
    j->w = gw_wait_new(r->conn, result_free);
    if (!j->body || !j->w) {
        if (j->w)
            gw_wait_cancel(j->w);
        job_free(j);
        return 0;
    }
    memcpy(j->body, in->body, in->len);
    struct gw_wait *w = j->w;
    if (gw_offload(parse_run, j) < 0) {
        gw_wait_cancel(w);
        job_free(j);
        return 0; /* the queue is full: parsed here, as before */
    }
    int rc;
    void *res = NULL;
    if (gw_wait_sleep(w, &rc, &res)) {
        r->pwait = w;
        return 1;
    }
    /* Already parsed: taken now. */
    r->presult = res;
    return 0;
}

int gw_parse_off_back(struct gw_req *r)
{
    if (!r->pwait)
        return 0;
    void *res = NULL;
    gw_wait_end(r->pwait, &res);
    r->pwait = NULL;
    r->presult = res;
    return 1;
}

int gw_parse_off_take(struct gw_req *r, struct gw_front_err *ferr, int *taken)
{
    struct parse_result *res = r->presult;
    r->presult = NULL;
    *taken = res != NULL;
    if (!res)
        return 0;
    r->parsed = res->parsed;
    *ferr = res->ferr;
    int rc = res->rc;
    free(res);
    return rc;
}

void gw_parse_off_drop(struct gw_req *r)
{
    if (r->pwait)
        gw_wait_drop(r->pwait);
    r->pwait = NULL;
    if (r->presult)
        result_free(r->presult);
    r->presult = NULL;
}
