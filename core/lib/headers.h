/*
 * headers - a list of HTTP headers as the core passes them between a plugin's request and the
 * upstream engine: name, value and the flags that say how to treat them (e.g. secret values
 * kept out of logs). Memory belongs to whoever built the list. Threading: plain data.
 */
#ifndef GW_LIB_HEADERS_H
#define GW_LIB_HEADERS_H

struct gw_header {
    struct gw_header *next;
    char *name;
    char *value;
    unsigned flags; /* enum aigw_header_flag */
};

#endif
