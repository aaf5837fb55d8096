/*
 * render_int - what render.c (chunks and stream events) and render_doc.c (closing documents)
 * share. front/ only.
 */
#ifndef GW_FRONT_RENDER_INT_H
#define GW_FRONT_RENDER_INT_H

#include <stdint.h>

#include "front/render.h"

struct gw_render_choice *gw_render_choice(struct gw_render *r, int idx);
int gw_render_member_i64(struct gw_buf *out, const char *lead, int64_t v);
int gw_render_doc_head(const struct gw_render *r, struct gw_buf *out, const char *lead,
                       const char *object);
int gw_render_default_finish(const struct gw_render_choice *ch);
int gw_render_finish_event(struct gw_render *r, struct gw_buf *out, int idx);
int gw_render_open_event(struct gw_render *r, struct gw_buf *out, int idx);

#endif
