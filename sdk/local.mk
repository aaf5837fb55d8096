# The SDK: the one installed header and the pkg-config file third-party plugins build with.
nobase_include_HEADERS += sdk/aigw/plugin.h
pkgconfig_DATA += sdk/aigw-plugin.pc
EXTRA_DIST += sdk/aigw-plugin.pc.in sdk/example
