pkglib_LTLIBRARIES += plugins/hugging-face.la
plugins_hugging_face_la_SOURCES = plugins/hugging-face/hugging-face.c
plugins_hugging_face_la_CFLAGS = $(PLUGIN_CFLAGS)
plugins_hugging_face_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_hugging_face_la_LIBADD = $(PLUGIN_COMMON) $(PLUGIN_LIBS)
if BUILD_TESTS
check_PROGRAMS += tests/plugins/test_hugging-face
TESTS += tests/plugins/test_hugging-face
tests_plugins_test_hugging_face_SOURCES = tests/plugins/test_hugging-face.c \
	tests/plugins/oaiwire_checks.c tests/plugins/oaiwire_replay.c \
	tests/plugins/oaiwire_checks.h
tests_plugins_test_hugging_face_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_hugging_face_LDADD = $(PLUGIN_TEST_LIBS)
endif
