#!/usr/bin/env python3
"""Regenerate catalog/models.json from the public price lists in ../shared/data.

    python3 catalog/gen_catalog.py            # write catalog/models.json
    python3 catalog/gen_catalog.py --check    # exit 1 if models.json is stale
    python3 catalog/gen_catalog.py --stats    # counts per provider on stderr

Python 3.11+ (tomllib), standard library only. Same inputs, same bytes. The format, the units
and the merge precedence are documented in catalog/README.md; only facts (prices, limits,
capabilities, dates) are carried over.
"""
import argparse
import hashlib
import io
import json
import os
import posixpath
import re
import sys
import tarfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
DEFAULT_OUT = os.path.join(HERE, "models.json")

# Highest precedence first. The digests are pinned so that a changed input is noticed.
SOURCES = [
    ("litellm", "litellm-model-prices.json",
     "d367a97d5e53cdea0ea68853afba06c8429afa51cfc3fe834a9a1d8eb8e8d68f"),
    ("models.dev", "models-dev.tar.gz",
     "889cc266c74098aca0ab7b6f5d13770e8cf29cb642835e7326031a22c0df1be4"),
    ("portkey", "portkey-models.tar.gz",
     "bc36eae3fddb686a707a43f690db85dfe459451e27c95abc42342b032599ccb2"),
    ("genai-prices", "genai-prices-data.json",
     "f41075aab069a7dc378f83b7586523f72682a6c9860b23a89ad0b57c073aec41"),
]
RANK = {name: i for i, (name, _, _) in enumerate(SOURCES)}

BUILTIN = ["openai", "anthropic", "gemini", "mistral", "groq", "cohere", "deepseek", "together",
           "perplexity", "fireworks", "ai21", "xai", "azure-openai", "azure-foundry", "ollama",
           "bedrock", "replicate", "vertex-ai", "hugging-face"]

# Provider names of the sources (lowercase-dashed) -> vkeys; any other name is its own vkey.
ALIASES = {
    # litellm
    "text-completion-openai": "openai", "codestral": "mistral", "cohere-chat": "cohere",
    "text-completion-codestral": "mistral", "together-ai": "together",
    "fireworks-ai": "fireworks", "fireworks-ai-embedding-models": "fireworks",
    "azure": "azure-openai", "azure-text": "azure-openai", "azure-ai": "azure-foundry",
    "bedrock-converse": "bedrock", "bedrock-mantle": "bedrock",
    "text-completion-inception": "inception", "vercel-ai-gateway": "vercel",
    "cloudflare": "cloudflare-workers-ai",
    # models.dev
    "google": "gemini", "google-vertex": "vertex-ai", "google-vertex-anthropic": "vertex-ai",
    "amazon-bedrock": "bedrock", "ollama-cloud": "ollama", "perplexity-agent": "perplexity",
    "huggingface": "hugging-face", "togetherai": "together", "llama": "meta-llama",
    "moonshotai": "moonshot", "novita-ai": "novita", "snowflake-cortex": "snowflake",
    # Portkey
    "x-ai": "xai", "mistral-ai": "mistral", "perplexity-ai": "perplexity", "z-ai": "zai",
    "workers-ai": "cloudflare-workers-ai", "zhipu": "zhipuai", "oracle": "oci",
    "stability-ai": "stability", "jina-ai": "jina",
    # the same companies under other spellings
    "friendliai": "friendli", "gmicloud": "gmi", "nvidia-nim": "nvidia",
    # genai-prices
    "aws": "bedrock", "voyageai": "voyage",
}
SECONDARY_LITELLM = {"codestral", "text-completion-codestral", "text-completion-openai",
                     "azure_text", "bedrock_mantle"}
AZURE_OPENAI_IDS = re.compile(r"^(gpt|o\d|text-embedding|dall-e|whisper|tts|codex|sora|"
                              r"chatgpt|computer-use|davinci|babbage|model-router)")

CAPS = ["tools", "vision", "json_schema", "reasoning", "prompt_caching", "pdf", "audio_in",
        "audio_out", "web_search", "computer_use"]
MODES = {"chat", "responses", "completion", "embedding", "image_generation", "image_edit",
         "audio_transcription", "audio_speech", "realtime", "video_generation", "rerank",
         "moderation", "ocr", "search"}
UNITS = ["per_image", "per_second", "per_character", "per_query", "per_page", "per_request",
         "per_pixel"]
PRICES = ["in", "out", "cache_read", "cache_write", "cache_write_1h", "reasoning", "tiers"] \
    + UNITS
PRICE_GROUP = PRICES + ["image_prices"]
ENTRY_KEYS = ["provider", "model", "mode", "context", "max_output"] + PRICE_GROUP \
    + ["regions", "caps", "deprecated", "source"]
TIER_KEYS = ["above", "in", "out", "cache_read", "cache_write"]

AWS_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)(-gov)?-[a-z]+-\d$")
AZURE_ZONES = {"us", "eu", "global", "global-standard"}
QUALITIES = {"standard", "hd", "low", "medium", "high", "auto"}
SIZE = re.compile(r"^(\d+|max)-x-(\d+|max)$")
STEPS = re.compile(r"^(\d+|max)-steps$")


def norm_name(name):
    n = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return ALIASES.get(n, n)


def num(x):
    """A non-negative number from a source, else None."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return x if x == x and x >= 0 else None


def usd(x, scale=1.0):
    """x * scale, rounded to 10 significant digits so that binary noise
    (3e-06 * 1e6 = 3.0000000000000004) does not reach the file."""
    x = num(x)
    return None if x is None else float("%.10g" % (x * scale))


def pick(src, pairs, scale=1.0):
    """{our key: usd(src[their key])} for the pairs that src has."""
    out = {}
    for theirs, ours in pairs:
        v = usd(src.get(theirs), scale)
        if v is not None:
            out[ours] = v
    return out


def row(provider, model, fields, pref, region=None, variant=None):
    return dict(provider=provider, model=model, region=region, variant=variant, pref=pref,
                fields=fields)


# ---- litellm (USD per token) ------------------------------------------------------------

LITELLM_PRICES = [("input_cost_per_token", "in"), ("output_cost_per_token", "out"),
                  ("input_cost_per_token_cache_hit", "cache_read"),
                  ("cache_read_input_token_cost", "cache_read"),
                  ("cache_creation_input_token_cost", "cache_write"),
                  ("cache_creation_input_token_cost_above_1hr", "cache_write_1h"),
                  ("output_cost_per_reasoning_token", "reasoning")]
LITELLM_UNITS = [("input_cost_per_character", "per_character"),
                 ("input_cost_per_query", "per_query"), ("ocr_cost_per_page", "per_page"),
                 ("input_cost_per_request", "per_request")]
LITELLM_TIER = re.compile(r"^(input_cost_per_token|output_cost_per_token|"
                          r"cache_read_input_token_cost|cache_creation_input_token_cost)"
                          r"_above_(\d+)k_tokens$")
LITELLM_CAPS = [("supports_function_calling", "tools"), ("supports_vision", "vision"),
                ("supports_response_schema", "json_schema"), ("supports_reasoning", "reasoning"),
                ("supports_prompt_caching", "prompt_caching"), ("supports_pdf_input", "pdf"),
                ("supports_audio_input", "audio_in"), ("supports_audio_output", "audio_out"),
                ("supports_web_search", "web_search"), ("supports_computer_use", "computer_use")]


def litellm_prefixes(lp):
    """Route prefixes a litellm key of provider lp may start with ("vertex_ai/", ...)."""
    out = {lp, lp.split("-")[0]}
    if lp.startswith("text-completion-"):
        out.add(lp[len("text-completion-"):])
    if lp == "azure_text":
        out.add("azure")
    return out | {p.replace("_", "-") for p in out} | {p.replace("-", "_") for p in out}


def split_variant(parts):
    """Leading size / quality / steps segments of a key ("hd/1024-x-1792/dall-e-3") make an
    image variant ("hd/1024x1792")."""
    var = []
    while len(parts) > 1 and (parts[0] in QUALITIES or SIZE.match(parts[0])
                               or STEPS.match(parts[0])):
        m = SIZE.match(parts[0])
        var.append(("max" if "max" in m.groups() else "%sx%s" % m.groups()) if m else parts[0])
        parts = parts[1:]
    return "/".join(var) or None, parts


def litellm_fields(v, variant):
    e = pick(v, LITELLM_PRICES, 1e6)
    tiers = {}
    for k, x in v.items():
        m = LITELLM_TIER.match(k)
        if m and usd(x) is not None:
            name = dict(LITELLM_PRICES)[m.group(1)]
            tiers.setdefault(int(m.group(2)) * 1000, {})[name] = usd(x, 1e6)
    if tiers:
        e["tiers"] = [dict(above=a, **tiers[a]) for a in sorted(tiers)]
    mode = v.get("mode")
    images = mode in ("image_generation", "image_edit")
    img = num(v.get("output_cost_per_image"))
    if img is None and images:
        img = num(v.get("input_cost_per_image"))  # litellm's per generated image, too
    if img is not None:
        e["per_image"] = usd(img)
    secs = [s for s in (num(v.get("input_cost_per_second")),
                        num(v.get("output_cost_per_second"))) if s is not None]
    if secs:  # audio in (transcription) or video out; never both billed
        e["per_second"] = usd(next((s for s in secs if s > 0), secs[0]))
    e.update(pick(v, LITELLM_UNITS))
    pix = num(v.get("input_cost_per_pixel")) or num(v.get("output_cost_per_pixel"))
    if images and pix is not None:
        size = next((p for p in (variant or "").split("/") if re.match(r"^\d+x\d+$", p)), None)
        if variant and size and "per_image" not in e:
            w, h = size.split("x")
            # litellm derived its per-pixel rates from per-image prices and kept 2-6 digits;
            # two significant digits give the list prices back (0.04, 0.08, 0.12).
            e["per_image"] = float("%.2g" % (pix * int(w) * int(h)))
        elif not variant:
            e["per_pixel"] = usd(pix)
    if mode in MODES:
        e["mode"] = mode
    for theirs, ours in (("max_input_tokens", "context"), ("max_output_tokens", "max_output")):
        if num(v.get(theirs)):
            e[ours] = int(v[theirs])
    caps = [c for k, c in LITELLM_CAPS if v.get(k) is True]
    if caps:
        e["caps"] = caps
    dep = v.get("deprecation_date")
    if isinstance(dep, str) and re.match(r"^\d{4}-\d{2}-\d{2}$", dep):
        e["deprecated"] = dep
    return e


def load_litellm(raw):
    rows = []
    for order, (key, v) in enumerate(json.loads(raw).items()):
        if not isinstance(v, dict) or not v.get("litellm_provider") or key == "sample_spec":
            continue
        lp = v["litellm_provider"]
        vkey = "vertex-ai" if lp.startswith("vertex_ai") else norm_name(lp)
        parts = key.split("/")
        explicit = len(parts) > 1 and parts[0] in litellm_prefixes(lp)
        parts = parts[1:] if explicit else parts
        if any("commitment" in p for p in parts):
            continue  # provisioned-throughput reservations, not prices per request
        if "mode" not in v and vkey == "fireworks":
            continue  # size-class fallback prices, not models
        region = None
        if len(parts) > 1 and ((vkey == "azure-openai" and parts[0] in AZURE_ZONES)
                               or (vkey == "bedrock" and AWS_REGION.match(parts[0]))):
            region, parts = parts[0], parts[1:]
        variant, parts = split_variant(parts)
        # Among keys that collide once the route prefix is gone: the provider's main API over
        # its side endpoints (mistral/ over codestral/), an explicit prefix over a bare key,
        # then file order.
        pref = (1 if lp in SECONDARY_LITELLM else 0, 0 if explicit else 1, order)
        rows.append(row(vkey, "/".join(parts), litellm_fields(v, variant), pref, region,
                        variant))
    return rows


# ---- models.dev (USD per 1M tokens, TOML per model) -------------------------------------

def tar_reader(raw):
    tf = tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz")
    members = {m.name: m for m in tf.getmembers()}

    def read(name, depth=0):
        m = members.get(name)
        if m is None or depth > 8:
            return None
        if m.issym():
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
            return read(target, depth + 1)
        return tf.extractfile(m).read() if m.isfile() else None
    return sorted(members), read


def deep_merge(base, over):
    out = dict(base)
    for k, v in over.items():
        both = isinstance(v, dict) and isinstance(out.get(k), dict)
        out[k] = deep_merge(out[k], v) if both else v
    return out


def drop_path(d, dotted):
    *path, last = dotted.split(".")
    for k in path:
        d = d.get(k)
        if not isinstance(d, dict):
            return
    d.pop(last, None)


MD_TIER = [("input", "in"), ("output", "out"), ("cache_read", "cache_read"),
           ("cache_write", "cache_write")]


def modelsdev_fields(t, mid):
    cost = t.get("cost") or {}
    e = pick(cost, MD_TIER + [("reasoning", "reasoning")])
    tiers = []
    for tr in cost.get("tiers") or []:
        spec = tr.get("tier") or {}
        if num(spec.get("size")) and spec.get("type", "context") == "context":
            tiers.append(dict(above=int(spec["size"]), **pick(tr, MD_TIER)))
    over = cost.get("context_over_200k")
    if isinstance(over, dict) and not any(x["above"] == 200000 for x in tiers):
        tiers.append(dict(above=200000, **pick(over, MD_TIER)))
    if tiers:
        e["tiers"] = sorted(tiers, key=lambda x: x["above"])
    lim = t.get("limit") or {}
    ctx = num(lim.get("input")) or num(lim.get("context"))
    if ctx:
        e["context"] = int(ctx)
    if num(lim.get("output")):
        e["max_output"] = int(lim["output"])
    mods = t.get("modalities") or {}
    mi, mo = mods.get("input") or [], mods.get("output") or []
    e["mode"] = ("embedding" if "embed" in mid.lower()
                 else "image_generation" if "image" in mo and "text" not in mo
                 else "video_generation" if "video" in mo and "text" not in mo
                 else "audio_speech" if "audio" in mo and "text" not in mo else "chat")
    caps = {"tools": t.get("tool_call"), "vision": "image" in mi, "pdf": "pdf" in mi,
            "audio_in": "audio" in mi, "audio_out": "audio" in mo,
            "json_schema": t.get("structured_output"), "reasoning": t.get("reasoning"),
            "prompt_caching": "cache_read" in e}
    if any(caps.values()):
        e["caps"] = [c for c in CAPS if caps.get(c)]
    if t.get("status") == "deprecated":
        e["deprecated"] = True
    return e


def load_modelsdev(raw):
    names, read = tar_reader(raw)
    cache = {}

    def toml_at(path):
        if path not in cache:
            b = read(path)
            cache[path] = tomllib.loads(b.decode("utf-8")) if b is not None else None
        return cache[path]

    rows = []
    for name in names:
        m = re.match(r"^([^/]+)/providers/([^/]+)/models/(.+)\.toml$", name)
        t = toml_at(name) if m else None
        if t is None:
            continue  # not a model, or a symlink whose target was deleted upstream
        if "base_model" in t:
            base = toml_at("%s/models/%s.toml" % (m.group(1), t["base_model"]))
            if base is None:
                continue
            base = json.loads(json.dumps(base))
            for p in t.get("base_model_omit") or []:
                drop_path(base, p)
            t = deep_merge(base, t)
        prov, mid = m.group(2), m.group(3)
        vkey = norm_name(prov)
        if prov in ("azure", "azure-cognitive-services"):  # Azure OpenAI and Foundry mixed
            vkey = "azure-openai" if AZURE_OPENAI_IDS.match(mid.lower()) else "azure-foundry"
        # A provider's own directory beats a sibling that duplicates it.
        pref = (0 if prov in ("azure", "google-vertex", "perplexity") else 1, name)
        rows.append(row(vkey, mid, modelsdev_fields(t, mid), pref))
    return rows


# ---- Portkey (US cents per token or unit) -----------------------------------------------

PORTKEY_MODES = {"chat": "chat", "text": "completion", "embedding": "embedding",
                 "image": "image_generation", "audio": "audio_speech", "rerank": "rerank",
                 "moderation": "moderation", "video": "video_generation"}
PORTKEY_PRICES = [("request_token", "in"), ("response_token", "out"),
                  ("cache_read_input_token", "cache_read"),
                  ("cache_write_input_token", "cache_write"), ("reasoning_token", "reasoning")]


def portkey_pay(pay):
    flat = {k: (v or {}).get("price") for k, v in pay.items() if isinstance(v, dict)}
    au = {k: (v or {}).get("price") for k, v in (pay.get("additional_units") or {}).items()}
    e = pick(flat, PORTKEY_PRICES, 1e4)
    e.update(pick(au, [("cache_write_1h", "cache_write_1h")], 1e4))
    e.update(pick(au, [("video_seconds", "per_second")], 0.01))
    variants = {}
    for q, sizes in sorted((pay.get("image") or {}).items()):
        for s, p in sorted((sizes or {}).items()):
            price = usd((p or {}).get("price"), 0.01)
            key = "/".join(x for x in (q, s) if x != "default")
            if price is not None and key:
                variants[key] = price
            elif price is not None:
                e["per_image"] = price
    if variants:
        e["image_prices"] = variants
    if not any(e.get(k) for k in ("in", "out", "per_image", "per_second", "image_prices")):
        return {}  # Portkey writes 0 for "not priced" as well as for free
    return e


def portkey_tiers(v, e):
    """custom_pricing.context_tier_map: {"272000": "gt-272k"} -> tiers."""
    cp = v.get("custom_pricing") or {}
    std = (((cp.get("regions") or {}).get("default") or {}).get("execution_modes") or {}) \
        .get("standard") or {}
    for at, tname in sorted((cp.get("context_tier_map") or {}).items(), key=lambda x: int(x[0])):
        tp = (((std.get("context_tiers") or {}).get(tname) or {}).get("pricing_config") or {})
        hi = portkey_pay(tp.get("pay_as_you_go") or {})
        t1 = dict(above=int(at), **{k: hi[k] for k in TIER_KEYS[1:] if k in hi})
        if int(at) > 0 and len(t1) > 1 and e:
            e.setdefault("tiers", []).append(t1)


def portkey_general(g, e):
    typ = g.get("type") or {}
    typ = {"primary": typ} if isinstance(typ, str) else typ
    if PORTKEY_MODES.get(typ.get("primary")):
        e["mode"] = PORTKEY_MODES[typ["primary"]]
    sup = set(typ.get("supported") or [])
    caps = {"tools": "tools" in sup, "vision": "image" in sup,
            "prompt_caching": "cache_control" in sup}
    if any(caps.values()):
        e["caps"] = [c for c in CAPS if caps.get(c)]
    for p in g.get("params") or []:
        if p.get("key") in ("max_tokens", "max_completion_tokens") and num(p.get("maxValue")):
            e["max_output"] = int(p["maxValue"])


def load_portkey(raw):
    names, read = tar_reader(raw)
    general = {m.group(1): json.loads(read(n)) for n in names
               for m in [re.match(r"^[^/]+/general/([^/]+)\.json$", n)] if m}
    rows = []
    for name in names:
        m = re.match(r"^[^/]+/pricing/([^/]+)\.json$", name)
        if not m:
            continue
        prov, split = m.group(1), {}
        vkey, gen = norm_name(prov), general.get(m.group(1)) or {}
        for key, v in json.loads(read(name)).items():
            if key == "default" or not isinstance(v, dict) or key.startswith("ft:") \
                    or key.endswith(".ft") or key.endswith("-batchx"):
                continue  # defaults, fine-tunes and batch keys
            e = portkey_pay((v.get("pricing_config") or {}).get("pay_as_you_go") or {})
            portkey_tiers(v, e)
            portkey_general(gen.get(key) if isinstance(gen.get(key), dict) else {}, e)
            ts = re.match(r"^(.*)-(gt|lte)-(\d+)k$", key)
            if ts:
                split.setdefault(ts.group(1), {})[ts.group(2)] = (int(ts.group(3)) * 1000, e)
            else:
                rows.append(row(vkey, key, e, (0, key)))
        # Some long-context models are keyed twice (-lte-128k / -gt-128k): fold them.
        for base, halves in sorted(split.items()):
            if "lte" not in halves:
                continue
            at, e = halves["lte"]
            e, hi = dict(e), halves.get("gt", (0, {}))[1]
            t1 = dict(above=at, **{k: hi[k] for k in TIER_KEYS[1:] if k in hi})
            if len(t1) > 1 and e.get("in") is not None:
                e["tiers"] = [t1]
            rows.append(row(vkey, base, e, (1, base)))
    return rows


# ---- genai-prices (USD per 1M tokens, match rules) --------------------------------------

GENAI_SNAPSHOT = "2026-08-21"
GENAI_PRICES = [("input_mtok", "in"), ("output_mtok", "out"), ("cache_read_mtok", "cache_read"),
                ("cache_write_mtok", "cache_write")]


def genai_fields(prices):
    if isinstance(prices, list):  # dated price changes: the one in force at the snapshot
        chosen = prices[0]["prices"]
        for p in prices[1:]:
            c = p.get("constraint") or {}
            if set(c) == {"start_date"} and c["start_date"] <= GENAI_SNAPSHOT:
                chosen = p["prices"]
        prices = chosen
    e, tiers = {}, {}
    for theirs, ours in GENAI_PRICES:
        x = prices.get(theirs)
        if isinstance(x, dict):
            if usd(x.get("base")) is not None:
                e[ours] = usd(x["base"])
            for t1 in x.get("tiers") or []:
                if num(t1.get("start")) and usd(t1.get("price")) is not None:
                    tiers.setdefault(int(t1["start"]), {})[ours] = usd(t1["price"])
        elif usd(x) is not None:
            e[ours] = usd(x)
    if tiers:
        e["tiers"] = [dict(above=a, **tiers[a]) for a in sorted(tiers)]
    e.update(pick(prices, [("requests_kcount", "per_request")], 0.001))
    return e


def genai_equals(rule):
    if not isinstance(rule, dict):
        return set()
    out = {rule["equals"].lower()} if isinstance(rule.get("equals"), str) else set()
    for sub in rule.get("or") or []:
        out |= genai_equals(sub)
    return out


def load_genai(raw):
    rows = []
    for prov in json.loads(raw):
        pid = prov["id"]
        hf = pid[len("huggingface_"):] if pid.startswith("huggingface_") else None
        for m in prov.get("models") or []:
            mid = m["id"]
            if mid.lower() not in genai_equals(m.get("match")):
                continue  # a family name for a match rule, not an id a provider accepts
            vkey = "hugging-face" if hf else norm_name(pid)
            if pid == "google" and mid.startswith("claude"):
                vkey = "vertex-ai"
            elif pid == "azure" and not AZURE_OPENAI_IDS.match(mid.lower()):
                vkey = "azure-foundry"
            e = genai_fields(m.get("prices") or {})
            if num(m.get("context_window")):
                e["context"] = int(m["context_window"])
            if m.get("deprecated") is True:
                e["deprecated"] = True
            # Hugging Face's router pins a provider with "<model>:<provider>".
            rows.append(row(vkey, "%s:%s" % (mid, hf) if hf else mid, e, (0, mid)))
    return rows


# ---- merge ------------------------------------------------------------------------------

def same(a, b):
    return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def first(lst):
    return sorted(lst, key=lambda x: x[0])[0][1]


def merge_group(prov, model, g):
    rows = sorted(g["rows"], key=lambda x: x[0])
    e = {"provider": prov, "model": model}
    priced = [r for r in rows if any(k in r[2] for k in PRICE_GROUP)]
    if priced:
        # Prices come whole from one list; a lower one may only fill cache, tier and
        # reasoning prices, and only when it agrees on input and output.
        _, src, f = priced[0]
        e.update({k: f[k] for k in PRICE_GROUP if k in f})
        for _, _, lower in priced[1:]:
            if same(lower.get("in"), e.get("in")) and same(lower.get("out"), e.get("out")):
                for k in ("cache_read", "cache_write", "cache_write_1h", "reasoning", "tiers"):
                    if k not in e and k in lower:
                        e[k] = lower[k]
        e["source"] = src
    for k in ("mode", "context", "max_output", "caps", "deprecated"):
        e.update(next(({k: f[k]} for _, _, f in rows if k in f), {}))
    for var, lst in sorted(g["variants"].items()):
        f = first(lst)
        if f.get("per_image") is not None:
            e.setdefault("image_prices", {}).setdefault(var, f["per_image"])
        if "mode" not in e and "mode" in f:
            e["mode"] = f["mode"]
    own = {k: e[k] for k in PRICES if k in e}
    for reg, lst in sorted(g["regions"].items()):
        f = first(lst)
        rp = {k: f[k] for k in PRICES if k in f}
        if rp and rp != own:
            e.setdefault("regions", {})[reg] = rp
        for k in ("mode", "context", "max_output", "caps"):
            if k not in e and k in f:
                e[k] = f[k]
    e.setdefault("source", rows[0][1] if rows else "litellm")
    return e if len(e) > 3 else None  # nothing but a name: no fact to carry over


def merge(rows_by_source):
    groups = {}
    for src, rows in rows_by_source:
        best = {}
        for r in rows:
            k = (r["provider"], r["model"], r["region"], r["variant"])
            if k not in best or r["pref"] < best[k]["pref"]:
                best[k] = r
        for (prov, model, region, variant), r in best.items():
            g = groups.setdefault((prov, model), {"rows": [], "regions": {}, "variants": {}})
            if region:
                g["regions"].setdefault(region, []).append((RANK[src], r["fields"]))
            elif variant:
                g["variants"].setdefault(variant, []).append((RANK[src], r["fields"]))
            else:
                g["rows"].append((RANK[src], src, r["fields"]))
    out = [merge_group(p, m, g) for (p, m), g in groups.items()]
    return sorted((e for e in out if e), key=lambda x: (x["provider"], x["model"]))


# ---- output -----------------------------------------------------------------------------

def fmt(v):
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k) + ":" + fmt(v[k]) for k in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(fmt(x) for x in v) + "]"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int) or (v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    return repr(float("%.10g" % v))


def ordered(block, keys):
    out = {k: block[k] for k in keys if k in block}
    if "tiers" in out:
        out["tiers"] = [ordered(t, TIER_KEYS) for t in out["tiers"]]
    if "regions" in out:
        out["regions"] = {r: ordered(p, PRICES) for r, p in out["regions"].items()}
    return out


def render(entries):
    head = {"format": "aigw-catalog", "version": 1,
            "units": "prices in USD per 1M tokens; per_* prices in USD per unit",
            "license": "facts from MIT-licensed price lists; see catalog/SOURCES.md",
            "sources": [n for n, _, _ in SOURCES], "count": len(entries)}
    lines = [fmt(ordered(e, ENTRY_KEYS)) for e in entries]
    return fmt(head)[:-1] + ',"models":[\n' + ",\n".join(lines) + "\n]}\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder with the source files")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output file")
    ap.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    ap.add_argument("--stats", action="store_true", help="print counts per provider")
    a = ap.parse_args()
    loaders = {"litellm": load_litellm, "models.dev": load_modelsdev, "portkey": load_portkey,
               "genai-prices": load_genai}
    rows = []
    for name, fname, digest in SOURCES:
        try:
            with open(os.path.join(a.data, fname), "rb") as fh:
                raw = fh.read()
        except OSError as err:
            sys.exit("error: %s (the price lists: see catalog/SOURCES.md; --data DIR)" % err)
        if hashlib.sha256(raw).hexdigest() != digest:
            print("warning: %s is not the pinned snapshot; update SOURCES in gen_catalog.py "
                  "and catalog/SOURCES.md" % fname, file=sys.stderr)
        rows.append((name, loaders[name](raw)))
    entries = merge(rows)
    counts = {}
    for e in entries:
        counts[e["provider"]] = counts.get(e["provider"], 0) + 1
    missing = [p for p in BUILTIN if p not in counts]
    if missing:
        sys.exit("error: no entries for built-in providers: " + ", ".join(missing))
    if a.stats:
        for p in BUILTIN:
            print("%-14s %5d" % (p, counts[p]), file=sys.stderr)
        others = sum(n for p, n in counts.items() if p not in BUILTIN)
        print("%-14s %5d (%d providers)" % ("others", others, len(counts) - len(BUILTIN)),
              file=sys.stderr)
        print("%-14s %5d" % ("total", len(entries)), file=sys.stderr)
    text = render(entries)
    if a.check:
        try:
            with open(a.out, encoding="utf-8") as fh:
                if fh.read() == text:
                    return 0
        except OSError:
            pass
        print("%s is stale: run catalog/gen_catalog.py" % a.out, file=sys.stderr)
        return 1
    with open(a.out + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(a.out + ".tmp", a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
