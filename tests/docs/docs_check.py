#!/usr/bin/env python3
"""docs_check - holds man/aigw.8, man/aigw.json.5, etc/aigw.json.sample, etc/aigw.env.sample
and etc/aigw.service.in to the code they describe.

The lists come from the code itself: provider variables from `aigw --list-providers
--format=json` (the plugins' env tables), config keys from the key table in core/config.c,
routing keys from gw_router_init in core/route.c, options from main.c, endpoints and headers
from http.c / gateway.c, access-log fields from gateway.c, metric families from
core/obs/metrics_render.c, span attribute names from core/obs/otel.c. Every problem is
printed; the exit status is 1 when there is any.

Given an aigw binary and its plugin directory, every configuration example in
aigw.json.5 (each key's "Example:" and the EXAMPLES blocks) is also run through
`aigw --check-config`.

usage: docs_check.py SRCDIR PROVIDERS.json [AIGW PLUGIN_DIR]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

problems = []


def problem(msg):
    problems.append(msg)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- a small man(7) reader ------------------------------------------------------------------

ALTERNATING = {"BR", "RB", "BI", "IB", "IR", "RI"}
FONT = {"B", "I", "SM", "SB"}


def deroff_text(s):
    """Inline escapes to plain text, as a reader would see them."""
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = s.replace("\\(dq", '"').replace("\\(em", "-").replace("\\(en", "-")
    s = s.replace("\\(->", "->").replace("\\(bu", "*").replace("\\(aq", "'")
    s = s.replace("\\-", "-").replace("\\~", " ").replace("\\ ", " ").replace("\\%", "")
    s = s.replace("\\&", "").replace("\\e", "\\")
    return s


def macro_args(rest):
    """Splits a macro's arguments: blanks separate, double quotes group."""
    args, cur, quoted, any_ = [], [], False, False
    i = 0
    while i < len(rest):
        c = rest[i]
        if c == '"':
            if quoted and i + 1 < len(rest) and rest[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            quoted = not quoted
            any_ = True
        elif c in " \t" and not quoted:
            if cur or any_:
                args.append("".join(cur))
            cur, any_ = [], False
        elif c == "\\" and i + 1 < len(rest):
            cur.append(rest[i:i + 2])
            i += 2
            continue
        else:
            cur.append(c)
        i += 1
    if cur or any_:
        args.append("".join(cur))
    return args


def parse_man(text):
    """Returns [(section, [(kind, value)])]: kind is 'text', 'tag' (the line after .TP),
    'break' (.TP/.PP/.IP/.SS/...) or 'ss' (a subsection title)."""
    sections, cur = [], None
    want_tag = False
    for raw in text.split("\n"):
        if raw.startswith(".\\\"") or raw.startswith("'\\\""):
            continue
        if raw.startswith("."):
            name, _, rest = raw[1:].partition(" ")
            args = macro_args(rest)
            if name == "SH":
                cur = (deroff_text(" ".join(args)), [])
                sections.append(cur)
                want_tag = False
                continue
            if cur is None:
                continue
            if name in ALTERNATING or name in FONT:
                joiner = "" if name in ALTERNATING else " "
                line = deroff_text(joiner.join(args))
            elif name == "SS":
                cur[1].append(("break", ""))
                cur[1].append(("ss", deroff_text(" ".join(args))))
                want_tag = False
                continue
            elif name in ("TP", "PP", "LP", "P", "IP", "EX", "EE", "nf", "fi", "RS", "RE"):
                cur[1].append(("break", ""))
                want_tag = name == "TP"
                if name == "IP" and args:
                    cur[1].append(("text", deroff_text(args[0])))
                continue
            else:
                continue
        else:
            if cur is None:
                continue
            line = deroff_text(raw)
        cur[1].append(("tag" if want_tag else "text", line))
        want_tag = False
    return sections


def section_text(sections, name):
    for sname, items in sections:
        if sname == name:
            return "\n".join(v for k, v in items if k in ("text", "tag", "ss"))
    return None


def subsection_text(sections, name, ss):
    """The text of subsection ss of section name (up to the next .SS or .SH)."""
    out, inside = [], False
    for sname, items in sections:
        if sname != name:
            continue
        for kind, value in items:
            if kind == "ss":
                inside = value == ss
            elif inside and kind in ("text", "tag"):
                out.append(value)
    return "\n".join(out)


def tagged_paragraphs(sections, name=None):
    """{tag: body} of every .TP entry (in one section, or all)."""
    out = {}
    for sname, items in sections:
        if name is not None and sname != name:
            continue
        tag, body = None, []
        for kind, value in items + [("break", "")]:
            if kind == "tag":
                if tag is not None:
                    out.setdefault(tag, " ".join(body))
                tag, body = value.strip(), []
            elif kind == "text" and tag is not None:
                body.append(value)
            elif kind in ("break", "ss"):
                if tag is not None:
                    out.setdefault(tag, " ".join(body))
                tag, body = None, []
    return out


def has_word(text, word):
    pattern = r"(?<![A-Za-z0-9_.-])" + re.escape(word) + r"(?![A-Za-z0-9_])"
    return re.search(pattern, text) is not None


# ---- the code's lists -------------------------------------------------------------------

def config_keys(config_c):
    """The key table of core/config.c: [(key, type, default, help)]."""
    src = read(config_c)
    m = re.search(r"static const struct gw_config_key keys\[\] = \{(.*?)\{NULL", src, re.S)
    if not m:
        problem("core/config.c: cannot find the key table (keys[] ... {NULL)")
        return []
    body = m.group(1)
    # Drop comments; entries are {"key", "type", "default", "help"} with C string literals.
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    body = re.sub(r"//[^\n]*", "", body)
    lit = r'"((?:[^"\\]|\\.)*)"'
    out = []
    for e in re.finditer(r"\{\s*" + r"\s*,\s*".join([lit] * 3) + r"\s*,\s*((?:" + lit +
                         r"\s*)+)\}", body):
        key, typ, dflt = (bytes(g, "utf-8").decode("unicode_escape") for g in e.groups()[:3])
        out.append((key, typ, dflt))
    entries = len(re.findall(r"\{\s*\"", body))
    if entries != len(out) or not out:
        problem("core/config.c: parsed %d of %d key table entries; update docs_check.py"
                % (len(out), entries))
    return out


def c_function(src, name):
    """The body of the C function `name` defined in src (from its name to the closing brace
    in column 0), or ""."""
    m = re.search(r"^(?:static\s+)?int\s+" + name + r"\s*\(.*?^\}", src, re.S | re.M)
    return m.group(0) if m else ""


def routing_keys(srcdir):
    """(top-level keys of the routing object, every key and value the routing parser compares
    with, the strategy names). Top-level keys: the names compared with the member name in
    parse_routing or gw_router_init of any core/route*.c. Literals: every strcmp / GetObject
    literal of the route*.c files that define those functions, of gw_rule_parse_when
    (strategy_rules.c), and the strategy names table of strategy.c."""
    top, lits, names = set(), set(), set()
    cmp_lit = r"(?:strcmp\(\s*[^,()]+(?:\([^()]*\))?[^,()]*,|GetObjectItemCaseSensitive\(\s*" \
              r"[^,()]+,)\s*\"([a-z][a-z0-9_-]*)\"\s*\)"
    for path in core_files(srcdir, (".c",)):
        f = os.path.basename(path)
        src = read(path)
        if f.startswith("route"):
            body = c_function(src, "parse_routing") or c_function(src, "gw_router_init")
            if body:
                top.update(re.findall(r"strcmp\(\s*(?:k|key|name)\s*,\s*\"([a-z0-9_]+)\"\s*\)",
                                      body))
                lits.update(re.findall(cmp_lit, src))
        lits.update(re.findall(cmp_lit, c_function(src, "gw_rule_parse_when")))
        m = re.search(r"static const char \*const names\[\] = \{(.*?)\};", src, re.S)
        if f.startswith("strategy") and m:
            names.update(re.findall(r"=\s*\"([a-z][a-z0-9-]*)\"", m.group(1)))
    return sorted(top), sorted(lits | names), sorted(names)


def core_files(srcdir, exts):
    """Every source file under core/ (its layer folders included), sorted by path."""
    out = []
    for root, _dirs, files in os.walk(os.path.join(srcdir, "core")):
        out.extend(os.path.join(root, f) for f in files if f.endswith(exts))
    return sorted(out)


def long_options(main_c):
    src = read(main_c)
    return re.findall(r"\{\s*\"([a-z][a-z0-9-]*)\"\s*,\s*(?:no|required|optional)_argument",
                      src)


def core_env(srcdir):
    names = set()
    for path in core_files(srcdir, (".c", ".h")):
        src = read(path)
        names.update(re.findall(r"getenv\(\s*\"([A-Z0-9_]+)\"\s*\)", src))
        names.update(re.findall(r"#define\s+GW_\w*ENV\s+\"([A-Z0-9_]+)\"", src))
    return sorted(names)


# ---- JSON with comments, as core/jsonc.c reads it -----------------------------------------

def jsonc_load(text):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            i = text.index("*/", i + 2) + 2
        else:
            out.append(c)
            i += 1
    plain = re.sub(r",(\s*[}\]])", r"\1", "".join(out))
    return json.loads(plain)


def expand_defaults(v):
    """${VAR:-default} as if every variable were unset."""
    if isinstance(v, str):
        return re.sub(r"\$\{[A-Za-z0-9_]+:-([^}\"]*)\}", r"\1", v)
    return v


def lookup(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return False, None
        obj = obj[part]
    return True, obj


def commented(sample_text, dotted):
    """A key the sample shows commented out, as `// "leaf": value,` inside its parent's
    object (for keys whose mere presence changes what aigw does, such as otel keys that
    win over OTEL_* variables): (True, value) or (False, None)."""
    parent, _, leaf = dotted.rpartition(".")
    text = sample_text
    if parent:
        m = re.search(r'"%s"\s*:\s*\{' % re.escape(parent.rpartition(".")[2]), text)
        if not m:
            return False, None
        text = text[m.end():]
    m = re.search(r'^\s*//\s*"%s"\s*:\s*(.+?),?\s*$' % re.escape(leaf), text, re.M)
    if not m:
        return False, None
    try:
        return True, json.loads(m.group(1))
    except ValueError:
        return False, None


# ---- the checks -------------------------------------------------------------------------

def check_env(srcdir, providers, man8):
    env_sec = section_text(man8, "ENVIRONMENT") or ""
    env_paras = tagged_paragraphs(man8, "ENVIRONMENT")
    sample_path = os.path.join(srcdir, "etc/aigw.env.sample")
    sample = read(sample_path).split("\n")
    assigned = {}
    for idx, line in enumerate(sample):
        m = re.match(r"^#?([A-Z][A-Z0-9_]*)=", line)
        if m:
            assigned.setdefault(m.group(1), idx)
    subsections = [v for _, items in man8 for k, v in items if k == "ss"]
    total = 0
    for p in providers:
        vkey = p["vkey"]
        if not any(s.endswith("(%s)" % vkey) for s in subsections):
            problem("aigw.8: ENVIRONMENT has no subsection '... (%s)'" % vkey)
        if not any(line.startswith("# ==== ") and line.endswith("(%s)" % vkey) for line in sample):
            problem("aigw.env.sample: no '# ==== ... (%s)' heading" % vkey)
        for e in p["env"]:
            total += 1
            name = e["name"]
            if e["required"]:
                tag = "required"
            elif e["any_of"]:
                tag = "one of these is required"
            else:
                tag = "optional"
            if e["secret"]:
                tag += ", secret"
            if not has_word(env_sec, name):
                problem("aigw.8: ENVIRONMENT lacks %s (%s)" % (name, vkey))
            elif name not in env_paras:
                problem("aigw.8: %s has no .TP entry of its own in ENVIRONMENT" % name)
            elif not env_paras[name].startswith("(%s)" % tag):
                problem("aigw.8: %s should start '(%s)', has '%s'"
                        % (name, tag, env_paras[name][:60]))
            if name not in assigned:
                problem("aigw.env.sample: no '#%s=' line (%s)" % (name, vkey))
                continue
            j = assigned[name] - 1
            while j > 0 and sample[j].startswith("#   "):
                j -= 1
            if not sample[j].startswith("# (%s)" % tag):
                problem("aigw.env.sample: the comment above %s should start '# (%s)'"
                        % (name, tag))
    for name in core_env(srcdir):
        if not has_word(env_sec, name):
            problem("aigw.8: ENVIRONMENT lacks the core variable %s" % name)
        if name not in assigned:
            problem("aigw.env.sample: no '#%s=' line (core)" % name)
    return total


def check_config(srcdir, man5, man8, sample):
    keys = config_keys(os.path.join(srcdir, "core/config.c"))
    paras = tagged_paragraphs(man5)
    sample_text = read(os.path.join(srcdir, "etc/aigw.json.sample"))
    for key, typ, dflt in keys:
        body = paras.get(key)
        if body is None:
            problem("aigw.json.5: no .TP entry tagged '%s'" % key)
        else:
            if not body.startswith("(" + typ):
                problem("aigw.json.5: %s should start '(%s', has '%s'" % (key, typ, body[:40]))
            if dflt and not has_word(body, dflt) and dflt not in body:
                problem("aigw.json.5: %s does not show its default %s" % (key, dflt))
            if "Example:" not in body:
                problem("aigw.json.5: %s has no 'Example:'" % key)
        found, v = lookup(sample, key)
        shown = False
        if not found:
            found, v = commented(sample_text, key)
            shown = found
        if not found:
            problem("aigw.json.sample: key %s is missing" % key)
            continue
        v = expand_defaults(v)
        ok = True
        if typ == "integer":
            ok = isinstance(v, int) and not isinstance(v, bool) and v == int(dflt)
        elif typ == "number":
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == float(dflt)
        elif typ == "boolean" and not dflt:
            # No fixed default (it depends on other settings): set, it would change what
            # the sample does, so it may only be shown.
            ok = isinstance(v, bool) and shown
        elif typ == "boolean":
            ok = isinstance(v, bool) and v == (dflt == "true")
        elif typ == "string":
            ok = v == dflt
        elif typ == "array":
            ok = v == json.loads(dflt or "[]")
        if not ok and typ == "boolean" and not dflt:
            problem("aigw.json.sample: %s has no fixed default: show it commented out"
                    % key)
        elif not ok:
            problem("aigw.json.sample: %s is %s, the default is %s"
                    % (key, json.dumps(v), dflt or '""'))
    top, lits, strategies = routing_keys(srcdir)
    if "strategy" not in top or "fallback" not in strategies:
        problem("core/route*.c: found no routing keys (%s) or strategies (%s); update "
                "docs_check.py" % (top, strategies))
    routing_sec = section_text(man8, "ROUTING") or ""
    man5_routing = subsection_text(man5, "KEYS", "Routing")
    for k in top:
        dotted = "routing." + k
        if dotted not in paras:
            problem("aigw.json.5: no .TP entry tagged '%s'" % dotted)
        elif "Example:" not in paras[dotted]:
            problem("aigw.json.5: %s has no 'Example:'" % dotted)
        if not has_word(routing_sec, dotted):
            problem("aigw.8: ROUTING does not mention %s" % dotted)
        if not lookup(sample, dotted)[0] and '"%s"' % k not in sample_text:
            problem("aigw.json.sample: routing key %s is neither set nor shown" % k)
    for lit in lits:
        for where, text in (("aigw.8 ROUTING", routing_sec),
                            ("aigw.json.5 KEYS/Routing", man5_routing)):
            if not re.search(r"(?<![A-Za-z0-9_])" + re.escape(lit) + r"(?![A-Za-z0-9_])", text):
                problem("%s does not mention '%s' (a routing key or value core/ accepts)"
                        % (where, lit))
        if '"%s"' % lit not in sample_text:
            problem("aigw.json.sample: \"%s\" (a routing key or value) appears nowhere" % lit)
    return len(keys), len(lits)


def check_aigw8(srcdir, man8, man5_text):
    names = [s for s, _ in man8]
    want = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", "CONFIGURATION",
            "ROUTING", "ENDPOINTS", "SIGNALS", "FILES", "EXIT STATUS", "EXAMPLES"]
    pos = -1
    for w in want:
        if w not in names:
            problem("aigw.8: no section %s" % w)
        elif names.index(w) < pos:
            problem("aigw.8: section %s out of order" % w)
        else:
            pos = names.index(w)
    opts = long_options(os.path.join(srcdir, "core/main.c"))
    if len(opts) < 5:
        problem("core/main.c: found only %s long options; update docs_check.py" % opts)
    options = section_text(man8, "OPTIONS") or ""
    synopsis = section_text(man8, "SYNOPSIS") or ""
    for o in opts:
        if not re.search(r"(?<![\w-])--%s(?![\w-])" % re.escape(o), options):
            problem("aigw.8: OPTIONS lacks --%s" % o)
    for where, text in (("aigw.8 OPTIONS", options), ("aigw.8 SYNOPSIS", synopsis),
                        ("aigw.json.5", deroff_text(man5_text))):
        for o in sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text))):
            if o not in opts:
                problem("%s: --%s is not an option of aigw (core/main.c)" % (where, o))
    table = read(os.path.join(srcdir, "core/endpoints.c"))
    endpoints = section_text(man8, "ENDPOINTS") or ""
    paths = sorted(set(p.rstrip("/") for p in
                       re.findall(r"\.path\s*=\s*\"(/[^\"]*)\"", table)))
    if "/v1/chat/completions" not in paths:
        problem("core/endpoints.c: no endpoints found (%s); update docs_check.py" % paths)
    for p in paths:
        if p not in endpoints:
            problem("aigw.8: ENDPOINTS lacks %s" % p)
    core = "".join(read(f) for f in core_files(srcdir, (".c",))
                   if os.sep + "proxy" + os.sep in f or os.sep + "net" + os.sep in f)
    resp = set(re.findall(r"MHD_add_response_header\(\s*\w+\s*,\s*\"([^\"]+)\"", core))
    req = set(re.findall(r"MHD_lookup_connection_value\([^,]+,\s*MHD_HEADER_KIND\s*,\s*"
                         r"\"([^\"]+)\"", core))
    hdrs = {h for h in resp if h.startswith("X-") and h != "X-Accel-Buffering"}
    hdrs |= {h for h in resp if h in ("Retry-After", "Allow")} | req
    if "X-Gateway-Provider" not in hdrs:
        problem("core/gateway.c: no X-Gateway-* headers found; update docs_check.py")
    for h in sorted(hdrs):
        if not has_word(endpoints, h):
            problem("aigw.8: ENDPOINTS lacks the header %s" % h)
    # The access-log line is written by the lifetime's accounting (gateway.c, account.c).
    logsrc = "".join(read(f) for f in core_files(srcdir, (".c",))
                     if os.path.basename(f) in ("gateway.c", "account.c"))
    fields = set(re.findall(r"log_escape\(\s*&?\w+\s*,\s*\"(\w+)\"", logsrc))
    fields |= set(re.findall(r"\\\"(\w+)\\\":", logsrc))
    logging = section_text(man8, "LOGGING") or ""
    if "latency_ms" not in fields:
        problem("core/gateway.c: no access-log fields found; update docs_check.py")
    for f in sorted(fields):
        if not has_word(logging, f):
            problem("aigw.8: LOGGING lacks the access-log field %s" % f)
    main = read(os.path.join(srcdir, "core/main.c"))
    sigs = set(re.findall(r"sigaddset\(\s*&\w+\s*,\s*(SIG[A-Z0-9]+)\s*\)", main))
    sigs |= set(re.findall(r"\bsignal\(\s*(SIG[A-Z0-9]+)", main))
    signals = section_text(man8, "SIGNALS") or ""
    for s in sorted(sigs):
        if not has_word(signals, s):
            problem("aigw.8: SIGNALS lacks %s" % s)


def check_observability(srcdir, man8):
    """Every metric family of core/obs/metrics_render.c is in aigw.8 METRICS, every span
    attribute and event name of core/obs/otel.c in TRACING. Returns (metrics, names)."""
    render = read(os.path.join(srcdir, "core/obs/metrics_render.c"))
    families = sorted(set(re.findall(r"\[GW_MF_\w+\]\s*=\s*\{\s*\"([a-z_]+)\"", render)))
    if "aigw_requests_total" not in families:
        problem("core/obs/metrics_render.c: no metric families found (%s); update "
                "docs_check.py" % families)
    metrics = section_text(man8, "METRICS") or ""
    for f in families:
        if not has_word(metrics, f):
            problem("aigw.8: METRICS lacks %s" % f)
    otel = read(os.path.join(srcdir, "core/obs/otel.c"))
    names = sorted(set(re.findall(r"\"((?:gen_ai|aigw|http|url|server|error)\.[a-z_.]+)\"",
                                  otel)))
    if "gen_ai.request.model" not in names:
        problem("core/obs/otel.c: no span attributes found (%s); update docs_check.py" % names)
    tracing = section_text(man8, "TRACING") or ""
    for n in names:
        if not has_word(tracing, n):
            problem("aigw.8: TRACING lacks the span attribute or event %s" % n)
    return len(families), len(names)


def check_unit(srcdir, opts):
    unit = read(os.path.join(srcdir, "etc/aigw.service.in"))
    for d in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict",
              "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
              "ExecReload=/bin/kill -HUP $MAINPID"):
        if d not in unit:
            problem("aigw.service.in: lacks %r" % d.strip())
    for ph in sorted(set(re.findall(r"@(\w+)@", unit)) - {"bindir", "sysconfdir"}):
        problem("aigw.service.in: @%s@ is not substituted by etc/local.mk" % ph)
    m = re.search(r"^ExecStart=@bindir@/aigw(.*)$", unit, re.M)
    if not m:
        problem("aigw.service.in: ExecStart is not @bindir@/aigw ...")
    else:
        for o in re.findall(r"--([a-z][a-z0-9-]*)", m.group(1)):
            if o not in opts:
                problem("aigw.service.in: ExecStart uses --%s, not an aigw option" % o)


def config_examples(man5_text, man5):
    """[(where, JSON-with-comments text)] of every example in aigw.json.5."""
    out = []
    for tag, body in tagged_paragraphs(man5).items():
        if "Example:" in body:
            ex = body.split("Example:", 1)[1].strip()
            out.append((tag, ex if ex.startswith("{") else "{" + ex + "}"))
    for n, block in enumerate(re.findall(r"^\.EX\n(.*?)^\.EE", man5_text, re.S | re.M)):
        text = "\n".join(deroff_text(line) for line in block.split("\n"))
        if text.lstrip().startswith("{"):
            out.append(("EXAMPLES block %d" % (n + 1), text))
    return out


def check_examples(aigw, plugins, man5_text, man5):
    """Each example must pass --check-config (with the plugins, as routing targets must name
    loaded providers). The catalog is left out so each run takes milliseconds; log paths are
    moved into a temporary directory, and a ${VAR} without default gets a dummy value."""
    examples = config_examples(man5_text, man5)
    with tempfile.TemporaryDirectory() as tmp:
        for where, text in examples:
            text = text.replace("/var/log/aigw/", tmp + "/")
            env = {k: v for k, v in os.environ.items()
                   if k in ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}
            env["AIGW_CATALOG"] = os.path.join(tmp, "no-catalog.json")
            for var in re.findall(r"\$\{([A-Za-z0-9_]+)\}", text):
                env[var] = "docs-example-value-" + var
            cfg = os.path.join(tmp, "example.json")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write(text)
            r = subprocess.run([aigw, "--plugin-dir", plugins, "--log-level", "error",
                                "--check-config", "--config", cfg], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = r.stdout.decode("utf-8", "replace").strip()
            if r.returncode != 0 or "configuration OK" not in out:
                problem("aigw.json.5: the example of %s fails --check-config (exit %d): %s\n%s"
                        % (where, r.returncode, out, text))
    return len(examples)


def main():
    if len(sys.argv) not in (3, 5):
        sys.stderr.write(__doc__)
        return 2
    srcdir, pjson = sys.argv[1], sys.argv[2]
    providers = json.loads(read(pjson))
    if not isinstance(providers, list) or not providers:
        problem("--list-providers --format=json gave no providers")
        providers = []
    man8 = parse_man(read(os.path.join(srcdir, "man/aigw.8")))
    man5_text = read(os.path.join(srcdir, "man/aigw.json.5"))
    man5 = parse_man(man5_text)
    sample = jsonc_load(read(os.path.join(srcdir, "etc/aigw.json.sample")))
    nvars = check_env(srcdir, providers, man8)
    nkeys, nroute = check_config(srcdir, man5, man8, sample)
    check_aigw8(srcdir, man8, man5_text)
    nmetrics, nspan = check_observability(srcdir, man8)
    check_unit(srcdir, long_options(os.path.join(srcdir, "core/main.c")))
    nex = check_examples(sys.argv[3], sys.argv[4], man5_text, man5) if len(sys.argv) == 5 else 0
    for p in problems:
        print("FAIL: " + p)
    print("docs_check: %d providers, %d variables, %d config keys, %d routing keys and values, "
          "%d metric families, %d span names, %d config examples checked, %d problems"
          % (len(providers), nvars, nkeys, nroute, nmetrics, nspan, nex, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
