#!/bin/sh
# test_header - sdk/aigw/plugin.h is the one header third parties compile against, with
# whatever language standard they use. It must be self-contained and warning-free as strict
# C99, C11 and C++11 (g++ is optional: that part is skipped when it is absent).
set -u

srcdir=${AIGW_TEST_SRCDIR:?run me through make check}
command -v gcc >/dev/null 2>&1 || { echo "SKIP: gcc not found"; exit 77; }
cjson=$(pkg-config --cflags libcjson 2>/dev/null) || cjson=

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aigw-header.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# A plugin-shaped user of every macro and inline helper, included twice (include guard).
cat >"$tmp/use.c" <<'SRC'
#include <aigw/plugin.h>
#include <aigw/plugin.h>

#ifdef __cplusplus
#define EXTERN_C extern "C"
#else
#define EXTERN_C
#endif

static int use(struct aigw_call *call, const struct aigw_frame *frame)
{
    const struct aigw_host *h = call->host;
    struct aigw_usage u;
    struct aigw_error e;
    struct aigw_chunk c = aigw_chunk_init(AIGW_CHUNK_META, 0);
    struct aigw_bytes b = aigw_bytes_of("hello");
    int rc;

    aigw_usage_init(&u);
    aigw_error_init(&e);
    if (aigw_json_str(NULL, "k") || aigw_json_get(NULL, "k") || aigw_json_bool(NULL, "k", 1) != 1 ||
        aigw_json_num(NULL, "k", 2.0) != 2.0 || aigw_json_count(NULL, "k") != -1)
        return AIGW_EINTERNAL;
    if (!AIGW_HOST_HAS(h, fail) || !AIGW_HAS_MEMBER(frame, struct aigw_frame, is_exception))
        return AIGW_ENOTSUP;
    if (AIGW_ABI_MAJOR_OF(AIGW_ABI_VERSION) != AIGW_ABI_MAJOR ||
        AIGW_ABI_MINOR_OF(AIGW_ABI_VERSION) != AIGW_TARGET_MINOR)
        return AIGW_EINTERNAL;
    h->log(call, AIGW_LOG_DEBUG, "%d bytes", (int)b.len);
    if ((rc = h->emit(call, &c)) || (rc = aigw_emit_meta(call, "id", "model", 0)) ||
        (rc = aigw_emit_text(call, 0, b.ptr, b.len)) ||
        (rc = aigw_emit_reasoning(call, 0, b.ptr, b.len)) ||
        (rc = aigw_emit_tool_call(call, 0, 0, "call_1", "f", "{}", 2)) ||
        (rc = aigw_emit_usage(call, &u)) || (rc = aigw_emit_error(call, &e)) ||
        (rc = aigw_emit_finish(call, 0, AIGW_FINISH_STOP)))
        return rc;
    return frame->is_exception ? AIGW_EPROTO : AIGW_OK;
}

static struct aigw_provider provider;

EXTERN_C AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void);

EXTERN_C AIGW_EXPORT const struct aigw_provider *aigw_plugin_entry(void)
{
    aigw_plugin_entry_fn self = aigw_plugin_entry;
    (void)self;
    provider.abi_version = AIGW_ABI_VERSION;
    provider.struct_size = (uint32_t)sizeof provider;
    provider.vkey = "header-test";
    provider.stream_event = use;
    return &provider;
}
SRC
cp "$tmp/use.c" "$tmp/use.cc"

status=0
# check LABEL COMPILER ARGS...: compile use.c / use.cc, report, remember failures.
check() {
    label=$1
    shift
    if "$@" -I"$srcdir/sdk" $cjson -c -o "$tmp/out.o" >"$tmp/err" 2>&1; then
        echo "ok: $label"
    else
        echo "FAIL: $label"
        cat "$tmp/err"
        status=1
    fi
}

strict="-pedantic -Wall -Wextra -Werror"
check "gcc -std=c99" gcc -std=c99 $strict -Wstrict-prototypes -Wmissing-prototypes "$tmp/use.c"
check "gcc -std=c11" gcc -std=c11 $strict -Wstrict-prototypes -Wmissing-prototypes "$tmp/use.c"
check "gcc -std=c11 -Wconversion -Wshadow" gcc -std=c11 $strict -Wconversion -Wshadow "$tmp/use.c"
# A plugin that targets an older minor (to load on older hosts) builds as cleanly.
for m in 0 1 2; do
    check "gcc -std=c99 AIGW_TARGET_MINOR=$m" gcc -std=c99 $strict -DAIGW_TARGET_MINOR=$m \
        -Wstrict-prototypes -Wmissing-prototypes "$tmp/use.c"
done
# A target the header does not know is refused at compile time.
if gcc -std=c11 -DAIGW_TARGET_MINOR=99 -I"$srcdir/sdk" $cjson -c -o "$tmp/out.o" "$tmp/use.c" \
    >"$tmp/err" 2>&1; then
    echo "FAIL: AIGW_TARGET_MINOR=99 compiled"
    status=1
else
    echo "ok: AIGW_TARGET_MINOR=99 refused"
fi
if command -v g++ >/dev/null 2>&1; then
    check "g++ -std=c++11" g++ -std=c++11 $strict "$tmp/use.cc"
else
    echo "skipped: g++ -std=c++11 (g++ not found)"
fi
exit $status
