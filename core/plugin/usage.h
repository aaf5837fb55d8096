/*
 * usage - a request's token counts as the upstream reports them (cumulative; the last report
 * of each count wins), kept by the lifetime for accounting whatever the dialect renders.
 * Threading: plain data.
 */
#ifndef GW_PLUGIN_USAGE_H
#define GW_PLUGIN_USAGE_H

#include "aigw/plugin.h"

/* Every count "not reported" (-1), no cost stated (0). */
void gw_usage_init(struct aigw_usage *u);
/* The counts u reports, and a cost it states (above 0), replace those in into; the others
 * stay. */
void gw_usage_merge(struct aigw_usage *into, const struct aigw_usage *u);

#endif
