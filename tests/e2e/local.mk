# End-to-end tests: the real aigw binary against the mock provider on loopback.
# One block per test program; each links E2E_LIBS (helpers + mock + libcurl + Criterion).
if BUILD_TESTS
check_LTLIBRARIES += tests/e2e/libe2e.la
tests_e2e_libe2e_la_SOURCES = tests/e2e/e2e.c tests/e2e/e2e_http.c tests/e2e/e2e.h
tests_e2e_libe2e_la_CFLAGS = $(TEST_CFLAGS)
tests_e2e_libe2e_la_LIBADD = tests/mockprov/libmockprov.la $(CURL_LIBS) $(CJSON_LIBS) \
	$(CRITERION_LIBS) $(AX_PTHREAD_LIBS)
E2E_LIBS = tests/e2e/libe2e.la

# The mock itself: every fault, matching, recording, the standalone binary. Needs no aigw.
check_PROGRAMS += tests/e2e/test_mock
TESTS += tests/e2e/test_mock
tests_e2e_test_mock_SOURCES = tests/e2e/test_mock.c tests/e2e/test_mock_faults.c \
	tests/e2e/test_mock.h
tests_e2e_test_mock_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_mock_LDADD = $(E2E_LIBS)
# It runs the standalone binary too. (A "test.log: dep" line would replace automake's own
# rule for running the test, so the dependency goes on the program instead.)
EXTRA_tests_e2e_test_mock_DEPENDENCIES = tests/mockprov/mockprov$(EXEEXT)
endif

# The spine: round trips, disconnects, back-pressure, deadlines, shutdown, bad input, secrets.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_core
TESTS += tests/e2e/test_core
tests_e2e_test_core_SOURCES = tests/e2e/test_core.c
tests_e2e_test_core_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_core_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_core_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# GET /metrics: counters against the mock, gauges, model folding, token, own listen address.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_metrics
TESTS += tests/e2e/test_metrics
tests_e2e_test_metrics_SOURCES = tests/e2e/test_metrics.c
tests_e2e_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_metrics_LDADD = $(E2E_LIBS)
# (not a tests/e2e/test_metrics.log rule: automake then drops its own recipe for the log)
EXTRA_tests_e2e_test_metrics_DEPENDENCIES = aigw$(EXEEXT)
endif

# Routing: strategies, X-Provider, aliases, retries, fallback, circuit breakers, the retry
# budget, and the etc/routing examples through --check-config.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_routing
TESTS += tests/e2e/test_routing
tests_e2e_test_routing_SOURCES = tests/e2e/test_routing.c tests/e2e/test_routing_strategy.c \
	tests/e2e/test_routing_util.c tests/e2e/test_routing.h
tests_e2e_test_routing_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_routing_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_routing_DEPENDENCIES = aigw$(EXEEXT)
endif

# One round trip per provider (chat + stream) through its plugin, against its own fixtures.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_providers
TESTS += tests/e2e/test_providers
tests_e2e_test_providers_SOURCES = tests/e2e/test_providers.c
tests_e2e_test_providers_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_providers_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_providers_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# /v1/models from what the providers' servers report: merged with the catalog, cached, a
# deadline on a dead server, shared refreshes, garbage and huge lists, keys, shutdown.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_models
TESTS += tests/e2e/test_models
tests_e2e_test_models_SOURCES = tests/e2e/test_models.c
tests_e2e_test_models_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_models_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_models_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# POST /v1/responses to OpenAI-wire, Gemini and Anthropic targets; Codex-shaped sessions;
# stored responses and previous_response_id chains.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_responses
TESTS += tests/e2e/test_responses
tests_e2e_test_responses_SOURCES = tests/e2e/test_responses.c
tests_e2e_test_responses_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_responses_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_responses_DEPENDENCIES = aigw$(EXEEXT)

# Codex's remote compaction: POST /v1/responses/compact and compaction_trigger answered by a
# summary call to a chat target; compaction items read back as user messages.
check_PROGRAMS += tests/e2e/test_compact
TESTS += tests/e2e/test_compact
tests_e2e_test_compact_SOURCES = tests/e2e/test_compact.c
tests_e2e_test_compact_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_compact_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_compact_DEPENDENCIES = aigw$(EXEEXT)

# POST /v1/responses/input_tokens: estimated locally, counted natively by an Anthropic target,
# a previous_response_id chain expanded, errors in the Responses shape.
check_PROGRAMS += tests/e2e/test_input_tokens
TESTS += tests/e2e/test_input_tokens
tests_e2e_test_input_tokens_SOURCES = tests/e2e/test_input_tokens.c
tests_e2e_test_input_tokens_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_input_tokens_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_input_tokens_DEPENDENCIES = aigw$(EXEEXT)
endif

# Tracing end to end: a streamed chat with a fallback gives one server span and two attempt
# spans at the test OTLP receiver, the upstream gets each attempt's traceparent, an incoming
# trace is continued, an unsampled one exported nowhere, and a dead collector costs nothing.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_tracing
TESTS += tests/e2e/test_tracing
tests_e2e_test_tracing_SOURCES = tests/e2e/test_tracing.c tests/e2e/test_routing_util.c \
	tests/e2e/test_routing.h
tests_e2e_test_tracing_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_tracing_LDADD = tests/otlprecv/libotlprecv.la $(E2E_LIBS)
EXTRA_tests_e2e_test_tracing_DEPENDENCIES = aigw$(EXEEXT)
endif

# Reloading the configuration while serving: a stream in flight across SIGHUP, the next
# request on the new routing, bad files refused, the admin call's key, restart-only keys.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_reload
TESTS += tests/e2e/test_reload
tests_e2e_test_reload_SOURCES = tests/e2e/test_reload.c tests/e2e/test_routing_util.c \
	tests/e2e/test_routing.h
tests_e2e_test_reload_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_reload_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_reload_DEPENDENCIES = aigw$(EXEEXT)
endif

# The first-byte budget across attempts (timeouts.first_byte_total_ms), in every dialect.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_deadline
TESTS += tests/e2e/test_deadline
tests_e2e_test_deadline_SOURCES = tests/e2e/test_deadline.c
tests_e2e_test_deadline_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_deadline_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_deadline_DEPENDENCIES = aigw$(EXEEXT)
endif

# stream.commit_ms: a stream that began and is silent commits (headers, the dialect's start)
# rather than wait for content, in every dialect; falls back unseen before it.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_commit
TESTS += tests/e2e/test_commit
tests_e2e_test_commit_SOURCES = tests/e2e/test_commit.c
tests_e2e_test_commit_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_commit_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_commit_DEPENDENCIES = aigw$(EXEEXT)
endif

# An upstream that answers badly, seen from each dialect: secrets it echoes, streams cut
# short or empty, bytes that are not UTF-8.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_upstream
TESTS += tests/e2e/test_upstream
tests_e2e_test_upstream_SOURCES = tests/e2e/test_upstream.c
tests_e2e_test_upstream_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_upstream_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_upstream_DEPENDENCIES = aigw$(EXEEXT)
endif

# Upstream jobs a request left unfinished are cancelled (SDK 1.6 cancel_build), exactly once.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_cancel
TESTS += tests/e2e/test_cancel
tests_e2e_test_cancel_SOURCES = tests/e2e/test_cancel.c
tests_e2e_test_cancel_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_cancel_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_cancel_DEPENDENCIES = aigw$(EXEEXT)
endif

# A path with no endpoint: the 404 names the one a misset base URL meant, in the caller's shape.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_idle
TESTS += tests/e2e/test_idle
tests_e2e_test_idle_SOURCES = tests/e2e/test_idle.c
tests_e2e_test_idle_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_idle_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_idle_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
check_PROGRAMS += tests/e2e/test_routes
TESTS += tests/e2e/test_routes
tests_e2e_test_routes_SOURCES = tests/e2e/test_routes.c
tests_e2e_test_routes_CFLAGS = $(TEST_CFLAGS)
tests_e2e_test_routes_LDADD = $(E2E_LIBS)
EXTRA_tests_e2e_test_routes_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif

# Compressed request bodies (Content-Encoding) for each dialect, against the mock.
if BUILD_TESTS
check_PROGRAMS += tests/e2e/test_encoding
TESTS += tests/e2e/test_encoding
tests_e2e_test_encoding_SOURCES = tests/e2e/test_encoding.c
tests_e2e_test_encoding_CFLAGS = $(TEST_CFLAGS) $(ZSTD_CFLAGS) $(BROTLIENC_CFLAGS)
tests_e2e_test_encoding_LDADD = $(E2E_LIBS) $(ZLIB_LIBS) $(ZSTD_LIBS) $(BROTLIENC_LIBS)
EXTRA_tests_e2e_test_encoding_DEPENDENCIES = aigw$(EXEEXT) tests/mockprov/mockprov$(EXEEXT)
endif
