/*
 * keys_cli - `aigw keys create|list|show|update|rotate|revoke`: the admin key operations
 * offline, against the configured store. Flags become the admin API's JSON body and go through
 * gw_admin_keys_handle, so the command line and HTTP accept and print exactly the same.
 *
 * Threading: the main thread of a short-lived process.
 */
#ifndef GW_KEYS_CLI_H
#define GW_KEYS_CLI_H

/* argv[0] is "keys" (or anything); argv[1] the subcommand. Prints the JSON answer on stdout,
 * errors on stderr. Returns the exit status: 0 done, 1 refused or failed, 2 bad usage. */
int gw_keys_cli(int argc, char **argv, const char *store_url);

#endif
