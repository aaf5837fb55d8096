/*
 * proxyenv - the proxy curl would take from the environment, read once per process.
 *
 * Why: libcurl 7.88 looks for a proxy with getenv on every transfer (no_proxy, NO_PROXY,
 * <scheme>_proxy, then all_proxy and ALL_PROXY), and each getenv scans the whole environment.
 * A container often carries hundreds of variables (Kubernetes adds several per service in the
 * namespace), which makes those scans cost more than the rest of a transfer's setup. Handing
 * curl the same answer as CURLOPT_PROXY and CURLOPT_NOPROXY keeps its choice and skips the
 * reads. The rules below are curl 7.88's (lib/url.c, detect_proxy and
 * create_conn_helper_init_proxy; lib/getenv.c: an empty variable is unset).
 *
 * Threading: computed once under pthread_once, then read-only. The environment is read at
 * the first transfer; aigw never changes it afterwards.
 */
#include "net/upstream_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

static struct {
    const char *no_proxy; /* "" when unset: nothing bypasses */
    const char *http;     /* "" when unset: no proxy */
    const char *https;
} env;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

/* The first of the names that is set and not empty; "" when none is. */
static const char *first_set(const char *const *names)
{
    for (; *names; names++) {
        const char *v = getenv(*names);
        if (v && *v)
            return v;
    }
    return "";
}

static void read_env(void)
{
    static const char *const no_proxy[] = {"no_proxy", "NO_PROXY", NULL};
    /* Never HTTP_PROXY for http: in a CGI environment a client's Proxy header sets it
     * ("httpoxy"), so curl does not read it, and neither does this. */
    static const char *const http[] = {"http_proxy", "all_proxy", "ALL_PROXY", NULL};
    static const char *const https[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                                        NULL};
    env.no_proxy = first_set(no_proxy);
    env.http = first_set(http);
    env.https = first_set(https);
}

void gw_proxyenv_apply(CURL *e, const char *url)
{
    pthread_once(&env_once, read_env);
    /* Only http and https are allowed (CURLOPT_PROTOCOLS_STR); a URL without a scheme is
     * taken as http by curl. */
    int https = url && strncasecmp(url, "https://", 8) == 0;
    curl_easy_setopt(e, CURLOPT_NOPROXY, env.no_proxy);
    curl_easy_setopt(e, CURLOPT_PROXY, https ? env.https : env.http);
}
