# Core unit tests: one Criterion program per module group.
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_framing
TESTS += tests/unit/test_framing
tests_unit_test_framing_SOURCES = tests/unit/test_framing.c
tests_unit_test_framing_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_framing_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_render
TESTS += tests/unit/test_render
tests_unit_test_render_SOURCES = tests/unit/test_render.c
tests_unit_test_render_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_render_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_request
TESTS += tests/unit/test_request
tests_unit_test_request_SOURCES = tests/unit/test_request.c
tests_unit_test_request_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_request_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_redact
TESTS += tests/unit/test_redact
tests_unit_test_redact_SOURCES = tests/unit/test_redact.c
tests_unit_test_redact_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_redact_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_request_id
TESTS += tests/unit/test_request_id
tests_unit_test_request_id_SOURCES = tests/unit/test_request_id.c
tests_unit_test_request_id_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_request_id_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_crypto
TESTS += tests/unit/test_crypto
tests_unit_test_crypto_SOURCES = tests/unit/test_crypto.c
tests_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_crypto_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_sockwatch
TESTS += tests/unit/test_sockwatch
tests_unit_test_sockwatch_SOURCES = tests/unit/test_sockwatch.c
tests_unit_test_sockwatch_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sockwatch_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_buf
TESTS += tests/unit/test_buf
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_host
TESTS += tests/unit/test_host
tests_unit_test_host_SOURCES = tests/unit/test_host.c
tests_unit_test_host_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_host_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_host_json
TESTS += tests/unit/test_host_json
tests_unit_test_host_json_SOURCES = tests/unit/test_host_json.c
tests_unit_test_host_json_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_host_json_LDADD = $(TEST_LIBS)
endif

include tests/unit/eventstream.mk

include tests/unit/metrics.mk
include tests/unit/route.mk
# The reloadable configuration's snapshots: concurrent readers against a publisher.
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_snapshot
TESTS += tests/unit/test_snapshot
tests_unit_test_snapshot_SOURCES = tests/unit/test_snapshot.c
tests_unit_test_snapshot_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_snapshot_LDADD = $(TEST_LIBS)
endif

# Failed authentications per client address (proxy/authfail.c).
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_authfail
TESTS += tests/unit/test_authfail
tests_unit_test_authfail_SOURCES = tests/unit/test_authfail.c
tests_unit_test_authfail_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_authfail_LDADD = $(TEST_LIBS)
endif
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_peer
TESTS += tests/unit/test_peer
tests_unit_test_peer_SOURCES = tests/unit/test_peer.c
tests_unit_test_peer_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_peer_LDADD = $(TEST_LIBS)
endif

check_PROGRAMS += tests/unit/test_jsonprint
TESTS += tests/unit/test_jsonprint
tests_unit_test_jsonprint_SOURCES = tests/unit/test_jsonprint.c
tests_unit_test_jsonprint_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_jsonprint_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/unit/test_upstream_reuse
TESTS += tests/unit/test_upstream_reuse
tests_unit_test_upstream_reuse_SOURCES = tests/unit/test_upstream_reuse.c
tests_unit_test_upstream_reuse_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_upstream_reuse_LDADD = $(TEST_LIBS)

# Compressed request bodies (lib/coding.c); the encoders are the libraries' own.
if BUILD_TESTS
check_PROGRAMS += tests/unit/test_coding
TESTS += tests/unit/test_coding
tests_unit_test_coding_SOURCES = tests/unit/test_coding.c
tests_unit_test_coding_CFLAGS = $(TEST_CFLAGS) $(ZSTD_CFLAGS) $(BROTLIENC_CFLAGS)
tests_unit_test_coding_LDADD = $(TEST_LIBS) $(ZLIB_LIBS) $(ZSTD_LIBS) $(BROTLIENC_LIBS)
endif
