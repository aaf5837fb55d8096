/* dialect - what every dialect shares (see dialect.h). */
#include "front/dialect.h"

#include <string.h>

void gw_parsed_free(struct gw_parsed *p)
{
    if (p->ctx && p->dialect && p->dialect->ctx_free)
        p->dialect->ctx_free(p->ctx);
    p->ctx = NULL;
    cJSON_Delete(p->body);
    p->body = NULL;
    cJSON_Delete(p->native);
    p->native = NULL;
    cJSON_Delete(p->native_only);
    p->native_only = NULL;
}
