/* anthropic_dialect - the Anthropic Messages dialect's table (see anthropic.h). */
#include "front/anthropic.h"

const struct gw_dialect gw_dialect_anthropic = {
    .name = "anthropic",
    .parse = gw_anth_parse,
    .ctx_free = gw_anth_ctx_free,
    .render_new = gw_anth_render_new,
    .render_free = gw_anth_render_free,
    .render_chunk = gw_anth_render_chunk,
    .render_end = gw_anth_render_end,
    .render_stream_error = gw_anth_render_stream_error,
    .render_heartbeat = gw_anth_render_heartbeat,
    .render_start = gw_anth_render_start,
    .error_body = gw_anth_error_body,
    .models_body = gw_anth_models_body,
};
