# The SDK from a plugin author's side: the header under strict C99 / C11 / C++11, the
# installed SDK + pkg-config + sdk/example built out of tree and run through an installed aigw
# (test_install.sh, with upstream.py as the OpenAI-compatible server), and --list-providers.
TESTS += tests/sdk/test_header.sh tests/sdk/test_install.sh
if BUILD_TESTS
# Lists the loader's test modules (tests/loader), which only exist when tests are built.
TESTS += tests/sdk/test_list_providers.sh
# The header's JSON getters, which plugins use instead of their own copies.
check_PROGRAMS += tests/sdk/test_json_getters
TESTS += tests/sdk/test_json_getters
tests_sdk_test_json_getters_SOURCES = tests/sdk/test_json_getters.c
tests_sdk_test_json_getters_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_json_getters_LDADD = $(CJSON_LIBS) $(CRITERION_LIBS)
endif
EXTRA_DIST += tests/sdk/test_header.sh tests/sdk/test_install.sh tests/sdk/test_list_providers.sh \
	tests/sdk/upstream.py
EXTRA_DIST += tests/usage.h tests/maps.h
