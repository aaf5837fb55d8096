#!/usr/bin/env python3
"""A tiny OpenAI-compatible upstream and client for tests/sdk/test_install.sh.

  upstream.py serve PORT_FILE REQUEST_LOG
      Serves POST /v1/chat/completions on 127.0.0.1 (an ephemeral port, written to PORT_FILE
      once listening). Non-streaming requests get a chat.completion, "stream": true gets SSE
      chunks and [DONE], model "refuse-me" gets an OpenAI-shaped 400. Every request is
      appended to REQUEST_LOG as one JSON line {path, authorization, body}.

  upstream.py chat URL MODEL [stream]
      Sends one chat completion to URL and prints what a client saw, one fact per line
      (status, content, finish, usage, done, error), so the shell test compares plain text.

  upstream.py requests REQUEST_LOG
      Prints one line per request the upstream received: path, auth, model, stream flags.

Only the standard library: python3 is on every Debian machine.
"""
import json
import os
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREATED = 1700000000
REPLY = "Hello from the example upstream"
PIECES = ["Streamed ", "through ", "the example"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection; the body ends at close

    def log_message(self, fmt, *args):  # keep the test log readable
        sys.stderr.write("upstream: " + (fmt % args) + "\n")

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with open(self.server.request_log, "a") as f:
            f.write(json.dumps({"path": self.path,
                                "authorization": self.headers.get("Authorization"),
                                "body": body}) + "\n")
        if self.path != "/v1/chat/completions" or not isinstance(body, dict):
            self.send_json(404, {"error": {"message": "no such route", "type": "not_found"}})
            return
        model = body.get("model", "")
        if model == "refuse-me":
            self.send_json(400, {"error": {"message": "the example server refuses this model",
                                           "type": "invalid_request_error",
                                           "param": "model", "code": "model_refused"}})
            return
        if body.get("stream"):
            self.stream(model, (body.get("stream_options") or {}).get("include_usage"))
            return
        self.send_json(200, {
            "id": "chatcmpl-example-1", "object": "chat.completion", "created": CREATED,
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": REPLY}}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
        })

    def stream(self, model, include_usage):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

        def chunk(delta, finish=None, usage=None, choices=True):
            obj = {"id": "chatcmpl-example-2", "object": "chat.completion.chunk",
                   "created": CREATED, "model": model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                   if choices else []}
            if usage:
                obj["usage"] = usage
            self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
            self.wfile.flush()

        chunk({"role": "assistant", "content": ""})
        for piece in PIECES:
            chunk({"content": piece})
        chunk({}, finish="stop")
        if include_usage:
            chunk(None, usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                  choices=False)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def serve(port_file, request_log):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.request_log = request_log
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, port_file)  # a reader never sees a half-written port
    srv.serve_forever()


def usage_line(u):
    if not isinstance(u, dict):
        return "usage none"
    return "usage %s %s %s" % (u.get("prompt_tokens"), u.get("completion_tokens"),
                               u.get("total_tokens"))


def chat(url, model, stream):
    req = {"model": model, "messages": [{"role": "user", "content": "Say hello."}]}
    if stream:
        req["stream"] = True
        req["stream_options"] = {"include_usage": True}
    r = urllib.request.Request(url, data=json.dumps(req).encode(), method="POST",
                               headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            status, ctype, raw = resp.status, resp.headers.get("Content-Type", ""), resp.read()
    except urllib.error.HTTPError as e:
        status, ctype, raw = e.code, e.headers.get("Content-Type", ""), e.read()
    print("status %d" % status)
    text = raw.decode("utf-8", "replace")
    if status != 200:
        err = json.loads(text).get("error", {})
        print("error %s %s %s" % (err.get("type"), err.get("code"), err.get("message")))
        return
    if not stream:
        obj = json.loads(text)
        choice = obj["choices"][0]
        print("object %s" % obj.get("object"))
        print("content %s" % choice["message"].get("content"))
        print("finish %s" % choice.get("finish_reason"))
        print(usage_line(obj.get("usage")))
        return
    print("type %s" % ctype.split(";")[0].strip())
    content, finishes, usage, done, after_done, objects = [], [], None, 0, 0, set()
    for event in text.split("\n\n"):
        data = "\n".join(line[5:].lstrip() for line in event.split("\n")
                         if line.startswith("data:"))
        if not data:
            continue
        if done:
            after_done += 1
        if data == "[DONE]":
            done += 1
            continue
        obj = json.loads(data)
        objects.add(obj.get("object"))
        for c in obj.get("choices") or []:
            delta = c.get("delta") or {}
            content.append(delta.get("content") or "")
            if c.get("finish_reason"):
                finishes.append(c["finish_reason"])
        if obj.get("usage"):
            usage = obj["usage"]
    print("object %s" % ",".join(sorted(str(o) for o in objects)))
    print("content %s" % "".join(content))
    print("finish %s" % ",".join(finishes))
    print(usage_line(usage))
    print("done %d after %d" % (done, after_done))


def requests(request_log):
    with open(request_log) as f:
        for line in f:
            r = json.loads(line)
            b = r.get("body") or {}
            print("%s auth=%s model=%s stream=%s include_usage=%s" % (
                r.get("path"), r.get("authorization"), b.get("model"),
                b.get("stream", False), (b.get("stream_options") or {}).get("include_usage")))


def main(argv):
    if len(argv) == 4 and argv[1] == "serve":
        serve(argv[2], argv[3])
    elif len(argv) in (4, 5) and argv[1] == "chat":
        chat(argv[2], argv[3], len(argv) == 5 and argv[4] == "stream")
    elif len(argv) == 3 and argv[1] == "requests":
        requests(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
