/*
 * host - the services table (struct aigw_host) every plugin receives. Each service is a thin
 * adapter from the public SDK types onto core modules (call, arena, crypto, oai_compat).
 *
 * Threading: the table is immutable; services act on the call they are given. The current
 * plugin is per thread.
 */
#ifndef GW_HOST_H
#define GW_HOST_H

#include "aigw/plugin.h"

struct gw_plugin;

const struct aigw_host *gw_host(void);
/* The plugin whose callback runs on this thread: host->env answers from its table, and log
 * lines without a call carry its vkey. The loader sets it around init()/fini(), exchange
 * around every call callback. */
void gw_host_set_current(struct gw_plugin *p);
/* Sets p and returns the previous one, to restore with gw_host_set_current. */
struct gw_plugin *gw_host_enter(struct gw_plugin *p);

#endif
