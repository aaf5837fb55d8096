/* counters_redis_lua - the Redis counters' Lua scripts (see counters_redis_lua.c). */
#ifndef GW_STORE_COUNTERS_REDIS_LUA_H
#define GW_STORE_COUNTERS_REDIS_LUA_H

extern const char gw_credis_admit_lua[];
extern const char gw_credis_settle_lua[];
/* KEYS: (q, e) of each reservation; ARGV: the tombstone time, then (id, lease) of each. */
extern const char gw_credis_renew_lua[];
extern const char gw_credis_heartbeat_lua[];

#endif
