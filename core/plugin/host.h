/*
 * host - the services table (struct aigw_host) every plugin receives. Each service is a thin
 * adapter from the public SDK types onto core modules (call, arena, crypto, oai_compat).
 *
 * Threading: the table is immutable; services act on the call they are given.
 */
#ifndef GW_HOST_H
#define GW_HOST_H

#include "aigw/plugin.h"

struct gw_plugin;

const struct aigw_host *gw_host(void);
/* The plugin whose init()/fini() runs on this thread (for log lines without a call). */
void gw_host_set_current(struct gw_plugin *p);

#endif
