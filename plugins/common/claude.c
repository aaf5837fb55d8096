/* claude - Claude's extended-thinking rules for a chat request (see claude.h). */
#include "claude.h"

#include <string.h>

int64_t claude_effort_budget(const char *effort)
{
    if (!effort)
        return 0;
    if (!strcmp(effort, "low"))
        return 1024;
    if (!strcmp(effort, "medium"))
        return 4096;
    if (!strcmp(effort, "high"))
        return 16384;
    return 0;
}

int claude_in_tool_loop(const cJSON *messages)
{
    const cJSON *m, *last = NULL;
    cJSON_ArrayForEach(m, messages)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (cJSON_IsString(role) && !strcmp(role->valuestring, "assistant"))
            last = m;
    }
    return last && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(last, "tool_calls")) > 0;
}
