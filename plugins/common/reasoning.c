/* reasoning - OpenAI's reasoning-model rule (see reasoning.h). */
#include "reasoning.h"

#include <string.h>

int oair_is_reasoning_model(const char *m)
{
    if (!m)
        return 0;
    if (strncmp(m, "ft:", 3) == 0)
        m += 3;
    if (m[0] == 'o' && m[1] >= '1' && m[1] <= '9' && (m[2] == '\0' || m[2] == '-'))
        return 1;
    return strncmp(m, "gpt-5", 5) == 0 && (m[5] == '\0' || m[5] == '-' || m[5] == '.');
}

int oair_rename_max_tokens(cJSON *body)
{
    cJSON *mt = cJSON_DetachItemFromObjectCaseSensitive(body, "max_tokens");
    if (!mt)
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens")) {
        cJSON_Delete(mt);
        return 0;
    }
    return cJSON_AddItemToObject(body, "max_completion_tokens", mt) ? 0 : AIGW_ENOMEM;
}
