# The SDK: the one installed header and the pkg-config file third-party plugins build with.
# Installed as <includedir>/aigw/plugin.h (nobase_include_HEADERS would keep the sdk/ prefix).
aigwincludedir = $(includedir)/aigw
aigwinclude_HEADERS = sdk/aigw/plugin.h
pkgconfig_DATA += sdk/aigw-plugin.pc
EXTRA_DIST += sdk/aigw-plugin.pc.in sdk/example/example.c sdk/example/Makefile sdk/example/README

# config.status bakes the configure-time directories into aigw-plugin.pc, but `make install
# prefix=DIR` (GNU coding standards; tests/sdk/test_install.sh relies on it) must leave a .pc
# that points into DIR, so the installed copy gets the directories of this make run.
# Prerequisite only: other fragments may hang their own steps on install-data-hook too.
install-data-hook: install-sdk-pc-dirs
install-sdk-pc-dirs:
	@pc='$(DESTDIR)$(pkgconfigdir)/aigw-plugin.pc'; \
	sed -e 's|^prefix=.*|prefix=$(prefix)|' -e 's|^exec_prefix=.*|exec_prefix=$(exec_prefix)|' \
	    -e 's|^libdir=.*|libdir=$(libdir)|' -e 's|^includedir=.*|includedir=$(includedir)|' \
	    "$$pc" >"$$pc.tmp" && mv -f "$$pc.tmp" "$$pc"
.PHONY: install-sdk-pc-dirs
