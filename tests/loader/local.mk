# The plugin loader against broken modules: one tiny provider per failure path (plus a good
# one, an older-but-valid one and one declaring ABI 1.0). The modules are real shared objects
# in tests/loader/.libs; test_loader copies the ones a case needs into a fresh plugin directory.
if BUILD_TESTS
LOADER_MODULE_LDFLAGS = $(AM_LDFLAGS) -module -rpath /nowhere -avoid-version -no-undefined -shared
check_LTLIBRARIES += tests/loader/good.la tests/loader/older.la tests/loader/bad_major.la \
	tests/loader/newer_minor.la tests/loader/short_size.la tests/loader/no_entry.la \
	tests/loader/dup_a.la tests/loader/dup_b.la tests/loader/minor_zero.la \
	tests/loader/emit_v1_1.la tests/loader/emit_target_1.la tests/loader/emit_v1_2.la
tests_loader_good_la_SOURCES = tests/loader/good.c tests/loader/module.h
tests_loader_good_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_good_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_good_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_older_la_SOURCES = tests/loader/older.c tests/loader/module.h
tests_loader_older_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_older_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_older_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_bad_major_la_SOURCES = tests/loader/bad_major.c tests/loader/module.h
tests_loader_bad_major_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_bad_major_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_bad_major_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_newer_minor_la_SOURCES = tests/loader/newer_minor.c tests/loader/module.h
tests_loader_newer_minor_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_newer_minor_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_newer_minor_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_short_size_la_SOURCES = tests/loader/short_size.c tests/loader/module.h
tests_loader_short_size_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_short_size_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_short_size_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_no_entry_la_SOURCES = tests/loader/no_entry.c tests/loader/module.h
tests_loader_no_entry_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_no_entry_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_no_entry_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_dup_a_la_SOURCES = tests/loader/dup_a.c tests/loader/module.h
tests_loader_dup_a_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_dup_a_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_dup_a_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_dup_b_la_SOURCES = tests/loader/dup_b.c tests/loader/module.h
tests_loader_dup_b_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_dup_b_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_dup_b_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_minor_zero_la_SOURCES = tests/loader/minor_zero.c tests/loader/module.h
tests_loader_minor_zero_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_minor_zero_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_minor_zero_la_LIBADD = $(PLUGIN_LIBS)
# One source, three builds: the 1.1 header as shipped (kept in abi-1.1/, found before sdk/),
# this header targeting 1.1, and this header as is.
tests_loader_emit_v1_1_la_SOURCES = tests/loader/emitter.c tests/loader/module.h
tests_loader_emit_v1_1_la_CPPFLAGS = -I$(top_srcdir)/tests/loader/abi-1.1 $(AM_CPPFLAGS) \
	-DEMITTER_VKEY='"loader-emit-v1-1"'
tests_loader_emit_v1_1_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_emit_v1_1_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_emit_v1_1_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_emit_target_1_la_SOURCES = tests/loader/emitter.c tests/loader/module.h
tests_loader_emit_target_1_la_CPPFLAGS = $(AM_CPPFLAGS) -DAIGW_TARGET_MINOR=1 \
	-DEMITTER_VKEY='"loader-emit-target-1"'
tests_loader_emit_target_1_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_emit_target_1_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_emit_target_1_la_LIBADD = $(PLUGIN_LIBS)
tests_loader_emit_v1_2_la_SOURCES = tests/loader/emitter.c tests/loader/module.h
tests_loader_emit_v1_2_la_CPPFLAGS = $(AM_CPPFLAGS) -DAIGW_TARGET_MINOR=2 -DEMITTER_VKEY='"loader-emit-v1-2"'
tests_loader_emit_v1_2_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_loader_emit_v1_2_la_LDFLAGS = $(LOADER_MODULE_LDFLAGS)
tests_loader_emit_v1_2_la_LIBADD = $(PLUGIN_LIBS)
EXTRA_DIST += tests/loader/abi-1.1/aigw/plugin.h

check_PROGRAMS += tests/loader/test_loader
TESTS += tests/loader/test_loader
tests_loader_test_loader_SOURCES = tests/loader/test_loader.c
tests_loader_test_loader_CFLAGS = $(TEST_CFLAGS)
tests_loader_test_loader_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/loader/abi-1.1/.clang-format
