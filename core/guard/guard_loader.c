/*
 * guard_loader - opens one guard shared object with libltdl (RTLD_LOCAL, like the provider
 * loader), checks the ABI before reading anything else, copies the descriptor into a zeroed
 * struct of the host's size and parses its config schema. Guards live in their own directory
 * (<plugin dir>/guards by default) so the provider loader never sees them.
 */
#include "guard/guard_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ltdl.h>

#include "lib/jschema.h"

/* The kind arrived whole in 1.2: every guard descriptor has all the members up to on_error. */
#define GUARD_MINOR 2
#define MIN_DESC_SIZE (offsetof(struct aigw_guard, on_error) + sizeof(void *))

static int valid_name(const char *v)
{
    if (!v || !*v || strlen(v) >= GW_GUARD_NAME_MAX)
        return 0;
    for (const char *p = v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return 0;
    return 1;
}

void gw_guard_mod_free(struct gw_guard_mod *m)
{
    if (!m)
        return;
    cJSON_Delete(m->schema);
    if (m->handle) {
        lt_dlclose((lt_dlhandle)m->handle);
        lt_dlexit();
    }
    free(m->path);
    free(m);
}

static int refuse(char *err, size_t errsize, const char *path, const char *why,
                  const struct aigw_guard *d)
{
    if (d)
        snprintf(err, errsize, "%s: %s (guard ABI %u.%u, struct_size %u; aigw ABI %u.%u)", path,
                 why, AIGW_ABI_MAJOR_OF(d->abi_version), AIGW_ABI_MINOR_OF(d->abi_version),
                 d->struct_size, AIGW_ABI_MAJOR, AIGW_ABI_MINOR);
    else
        snprintf(err, errsize, "%s: %s", path, why);
    return AIGW_ECONFIG;
}

static int open_module(const char *path, lt_dlhandle *h, char *err, size_t errsize)
{
    lt_dladvise advise;
    if (lt_dlinit() != 0)
        return refuse(err, errsize, path, "libltdl failed to initialize", NULL);
    *h = NULL;
    if (lt_dladvise_init(&advise) == 0) {
        lt_dladvise_local(&advise);
        *h = lt_dlopenadvise(path, advise);
        lt_dladvise_destroy(&advise);
    }
    if (*h)
        return 0;
    const char *why = lt_dlerror();
    snprintf(err, errsize, "%s: not a loadable shared object (%s)", path,
             why ? why : "unknown error");
    lt_dlexit();
    return AIGW_ECONFIG;
}

int gw_guard_mod_load(const char *path, const char *want, struct gw_guard_mod **out, char *err,
                      size_t errsize)
{
    lt_dlhandle h;
    int rc = open_module(path, &h, err, errsize);
    if (rc)
        return rc;
    struct gw_guard_mod *m = calloc(1, sizeof *m);
    if (!m) {
        lt_dlclose(h);
        lt_dlexit();
        return AIGW_ENOMEM;
    }
    m->handle = h;
    m->path = strdup(path);
    aigw_guard_entry_fn entry =
        (aigw_guard_entry_fn)(uintptr_t)lt_dlsym(h, AIGW_GUARD_ENTRY_SYMBOL);
    const struct aigw_guard *d = entry ? entry() : NULL;
    const char *why = NULL;
    if (!entry)
        why = "no " AIGW_GUARD_ENTRY_SYMBOL " symbol (not a guard plugin)";
    else if (!d)
        why = "entry point returned no descriptor";
    else if (AIGW_ABI_MAJOR_OF(d->abi_version) != AIGW_ABI_MAJOR)
        why = "built for another ABI major version";
    else if (AIGW_ABI_MINOR_OF(d->abi_version) > AIGW_ABI_MINOR)
        why = "built for a newer ABI minor version than this aigw";
    else if (AIGW_ABI_MINOR_OF(d->abi_version) < GUARD_MINOR)
        why = "declares an ABI minor older than 1.2, which has no guards";
    else if (d->struct_size < MIN_DESC_SIZE)
        why = "descriptor struct_size too small";
    if (why) {
        rc = refuse(err, errsize, path, why, entry && d ? d : NULL);
        gw_guard_mod_free(m);
        return rc;
    }
    size_t n = d->struct_size < sizeof m->desc ? d->struct_size : sizeof m->desc;
    memcpy(&m->desc, d, n);
    if (!valid_name(m->desc.name) || !m->desc.create || !m->desc.stages ||
        (m->desc.stages & ~(unsigned)(AIGW_GUARD_INPUT | AIGW_GUARD_OUTPUT))) {
        rc = refuse(err, errsize, path,
                    "descriptor incomplete (name must be [a-z0-9-]+; create and stages are "
                    "required)",
                    NULL);
        gw_guard_mod_free(m);
        return rc;
    }
    if ((m->desc.stages & AIGW_GUARD_INPUT) && !m->desc.on_request) {
        rc = refuse(err, errsize, path, "declares the input stage without on_request", NULL);
        gw_guard_mod_free(m);
        return rc;
    }
    if ((m->desc.stages & AIGW_GUARD_OUTPUT) && !m->desc.on_answer_delta &&
        !m->desc.on_answer_final && !m->desc.on_error) {
        rc = refuse(err, errsize, path, "declares the output stage without an answer hook", NULL);
        gw_guard_mod_free(m);
        return rc;
    }
    if (want && strcmp(want, m->desc.name)) {
        snprintf(err, errsize, "%s: the guard calls itself '%s'", path, m->desc.name);
        gw_guard_mod_free(m);
        return AIGW_ECONFIG;
    }
    if (m->desc.config_schema) {
        char serr[256];
        m->schema = cJSON_Parse(m->desc.config_schema);
        if (!m->schema) {
            rc = refuse(err, errsize, path, "its config_schema is not JSON", NULL);
            gw_guard_mod_free(m);
            return rc;
        }
        if (gw_jschema_check(m->schema, serr, sizeof serr)) {
            snprintf(err, errsize, "%s: its config_schema: %s", path, serr);
            gw_guard_mod_free(m);
            return AIGW_ECONFIG;
        }
    }
    if (!m->path) {
        gw_guard_mod_free(m);
        return AIGW_ENOMEM;
    }
    *out = m;
    return 0;
}
