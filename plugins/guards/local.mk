# Guard plugins: one shared object per guard, from plugins/guards/<name>/*.c plus the helpers in
# plugins/guards/common/, exporting only aigw_guard_entry, installed into $(pkglibdir)/guards
# (the default guard directory is <plugin dir>/guards). In the build tree plugins/.libs/guards
# points at their .libs, so the build's plugin directory is a usable one for guards too.
guarddir = $(pkglibdir)/guards
guard_LTLIBRARIES =
GUARD_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(CJSON_CFLAGS) -I$(top_srcdir)/plugins/guards
GUARD_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -no-undefined -shared \
	-export-symbols-regex '^aigw_guard_entry$$'
GUARD_LIBS = $(CJSON_LIBS)
GUARD_COMMON = plugins/guards/common/gcommon.c plugins/guards/common/gcommon.h

include plugins/guards/json-schema/local.mk
include plugins/guards/max-size/local.mk
include plugins/guards/pii/local.mk
include plugins/guards/regex/local.mk
include plugins/guards/secret-scan/local.mk
include plugins/guards/word-filter/local.mk

all-local: plugins-guards-link
plugins-guards-link: $(guard_LTLIBRARIES)
	@mkdir -p plugins/.libs && ln -sfn ../guards/.libs plugins/.libs/guards
.PHONY: plugins-guards-link
