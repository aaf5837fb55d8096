/* fuzz_store - the admin targets' shared fixture (see fuzz_store.h). */
#include "fuzz_store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static struct gw_store *store;
static char dir[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

static void done(void)
{
    gw_store_close(store);
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

struct gw_store *fuzz_store_open(const char *target)
{
    snprintf(dir, sizeof dir, "/tmp/aigw-fuzz-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    char url[128], err[256];
    snprintf(url, sizeof url, "sqlite:%s/aigw.db", dir);
    store = gw_store_open(url, NULL, err, sizeof err);
    if (!store) {
        fprintf(stderr, "%s: %s\n", target, err);
        abort();
    }
    atexit(done);
    return store;
}

int fuzz_store_timed_out(const cJSON *doc, int status)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "error"), "code");
    return status == 503 && cJSON_IsString(c) && !strcmp(c->valuestring, "store_unavailable");
}
