#!/usr/bin/env python3
"""A scripted LLM API server for opro.llm's tests (not the simulator).
Writes its port to argv[1]. Speaks just enough OpenAI (/v1/chat/completions,
/v1/embeddings), Anthropic (/v1/messages) and Gemini (/v1beta/models/M:
generateContent, :streamGenerateContent, :batchEmbedContents).

Behaviour is chosen per request by the header x-scenario:
  "FAULT;fails=K;id=ID"  the first K requests carrying ID get FAULT, later
                         ones succeed. FAULT: 500 503 529 408 400 401 429
                         (Retry-After: 1) 429ms (retry-after-ms: 300)
                         429date (Retry-After as an HTTP-date 2 s ahead)
                         429long (Retry-After: 3600) reset badjson hang
                         nousage (success without usage) ignore_n
                         echo_key (an error that echoes the API key)
                         streamerror (an error event mid-stream)
x-latency-ms: N delays every answer by N ms.
GET /stats -> {"requests","inflight","inflight_peak","paths","bodies"};
POST /stats/reset. Every body received is kept (for schema checks) in
/stats?bodies=1.
"""
import email.utils, json, socket, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse

lock = threading.Lock()
stats = {"requests": 0, "inflight": 0, "inflight_peak": 0, "paths": {}}
bodies = []
counters = {}

def usage_tokens(text):
    return max(1, (len(text) + 3) // 4)

def prompt_text(path, req):
    if "/messages" in path:
        return " ".join(m["content"] if isinstance(m["content"], str) else "" for m in req.get("messages", []))
    if ":" in path and "contents" in req:
        return " ".join(p.get("text", "") for c in req["contents"] for p in c.get("parts", []))
    return " ".join(m["content"] if isinstance(m.get("content"), str) else "" for m in req.get("messages", []))

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def reply(self, status, body, headers=(), ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_%d" % stats["requests"])
        for k, v in headers: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, headers=()):
        p = urlparse(self.path).path
        if "/messages" in p:
            kind = {529: "overloaded_error", 429: "rate_limit_error"}.get(status, "api_error")
            body = {"type": "error", "error": {"type": kind, "message": message}}
        elif p.startswith("/v1beta"):
            body = {"error": {"code": status, "message": message, "status": "UNAVAILABLE"}}
        else:
            body = {"error": {"message": message, "type": "server_error", "param": None, "code": status}}
        self.reply(status, json.dumps(body), headers)

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/stats":
            with lock:
                s = dict(stats)
                if "bodies" in u.query: s["bodies"] = list(bodies)
            self.reply(200, json.dumps(s))
        else:
            self.reply(404, '{"error":"not found"}')

    def do_POST(self):
        u = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode() if n else ""
        if u.path == "/stats/reset":
            with lock:
                stats.update(requests=0, inflight=0, inflight_peak=0, paths={})
                bodies.clear(); counters.clear()
            return self.reply(200, "{}")
        with lock:
            stats["requests"] += 1
            stats["inflight"] += 1
            stats["inflight_peak"] = max(stats["inflight_peak"], stats["inflight"])
            stats["paths"][u.path] = stats["paths"].get(u.path, 0) + 1
            bodies.append({"path": u.path, "body": raw})
        try:
            self.answer(u, raw)
        finally:
            with lock: stats["inflight"] -= 1

    def answer(self, u, raw):
        lat = int(self.headers.get("x-latency-ms") or 0)
        if lat: time.sleep(lat / 1000.0)
        scen = self.headers.get("x-scenario") or ""
        fault = None
        if scen:
            parts = scen.split(";")
            opts = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            fails = int(opts.get("fails", "1000000"))
            sid = opts.get("id", parts[0])
            with lock:
                counters[sid] = counters.get(sid, 0) + 1
                k = counters[sid]
            if k <= fails: fault = parts[0]
        if fault in ("500", "503", "529", "408", "400", "401"):
            return self.error(int(fault), "simulated %s" % fault)
        if fault == "429":
            return self.error(429, "rate limited", [("Retry-After", "1")])
        if fault == "429ms":
            return self.error(429, "rate limited", [("retry-after-ms", "300")])
        if fault == "429date":
            return self.error(429, "rate limited", [("Retry-After", email.utils.formatdate(time.time() + 2, usegmt=True))])
        if fault == "429long":
            return self.error(429, "rate limited", [("Retry-After", "3600")])
        if fault == "echo_key":
            key = self.headers.get("authorization", "") + self.headers.get("x-api-key", "") + self.headers.get("x-goog-api-key", "")
            return self.error(401, "Incorrect API key provided: %s" % key)
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close(); self.close_connection = True
            return
        if fault == "badjson":
            return self.reply(200, '{"id": "x", "choices": [{"message": ')
        if fault == "hang":
            time.sleep(30); return self.reply(200, "{}")
        try:
            req = json.loads(raw)
        except ValueError:
            return self.error(400, "bad json")
        p = u.path
        if p == "/v1/embeddings":
            data = [{"object": "embedding", "index": i, "embedding": [float(len(t)), float(i), 0.5]}
                    for i, t in enumerate(req["input"])]
            return self.reply(200, json.dumps({"object": "list", "data": data, "model": req["model"],
                                               "usage": {"prompt_tokens": 7, "total_tokens": 7}}))
        if p.endswith(":batchEmbedContents"):
            embs = [{"values": [float(len(r["content"]["parts"][0]["text"])), float(i)]} for i, r in enumerate(req["requests"])]
            return self.reply(200, json.dumps({"embeddings": embs}))
        text = prompt_text(p, req)
        answer = "echo: " + text[:60]
        it, ot = usage_tokens(text), usage_tokens(answer)
        if p == "/v1/chat/completions":
            n = 1 if fault == "ignore_n" else int(req.get("n") or 1)
            if req.get("stream"):
                return self.stream_openai(req, answer, n, it, ot, fault)
            body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": req["model"],
                    "choices": [{"index": i, "message": {"role": "assistant", "content": "%s #%d" % (answer, i)},
                                 "finish_reason": "stop"} for i in range(n)]}
            if fault != "nousage":
                body["usage"] = {"prompt_tokens": it, "completion_tokens": ot * n, "total_tokens": it + ot * n}
            return self.reply(200, json.dumps(body))
        if p == "/v1/messages":
            if req.get("stream"):
                return self.stream_anthropic(answer, it, ot, fault)
            return self.reply(200, json.dumps({"id": "msg_1", "type": "message", "role": "assistant",
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                "usage": {"input_tokens": it, "output_tokens": ot}}))
        if p.endswith(":generateContent") or p.endswith(":streamGenerateContent"):
            body = {"candidates": [{"content": {"role": "model", "parts": [{"text": answer}]}, "finishReason": "STOP"}],
                    "usageMetadata": {"promptTokenCount": it, "candidatesTokenCount": ot}, "responseId": "g1"}
            if p.endswith(":streamGenerateContent"):
                c1 = {"candidates": [{"content": {"role": "model", "parts": [{"text": answer[:5]}]}}]}
                ev = "data: %s\r\n\r\ndata: %s\r\n\r\n" % (json.dumps(c1), json.dumps(dict(body, candidates=[{"content": {"role": "model", "parts": [{"text": answer[5:]}]}, "finishReason": "STOP"}])))
                return self.reply(200, ev, ctype="text/event-stream")
            return self.reply(200, json.dumps(body))
        self.reply(404, '{"error":"not found"}')

    def stream_openai(self, req, answer, n, it, ot, fault):
        out = [": ping\n\n"]
        for i in range(n):
            text = "%s #%d" % (answer, i)
            for j in range(0, len(text), 7):
                out.append("data: %s\n\n" % json.dumps({"id": "c1", "choices": [{"index": i, "delta": {"content": text[j:j + 7]}}]}))
            if fault == "streamerror":
                out.append('data: {"error": {"message": "overloaded mid-stream", "type": "server_error"}}\n\n')
            out.append("data: %s\n\n" % json.dumps({"id": "c1", "choices": [{"index": i, "delta": {}, "finish_reason": "stop"}]}))
        out.append("data: %s\n\n" % json.dumps({"id": "c1", "choices": [], "usage": {"prompt_tokens": it, "completion_tokens": ot}}))
        out.append("data: [DONE]\n\n")
        self.reply(200, "".join(out), ctype="text/event-stream")

    def stream_anthropic(self, answer, it, ot, fault):
        ev = lambda t, d: "event: %s\ndata: %s\n\n" % (t, json.dumps(dict(d, type=t)))
        out = [ev("message_start", {"message": {"id": "msg_s", "usage": {"input_tokens": it, "output_tokens": 1}}}),
               ev("ping", {})]
        for j in range(0, len(answer), 5):
            out.append(ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": answer[j:j + 5]}}))
            if fault == "streamerror" and j > 0:
                out.append(ev("error", {"error": {"type": "invalid_request_error", "message": "bad thing mid-stream"}}))
                break
        out.append(ev("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": ot}}))
        out.append(ev("message_stop", {}))
        self.reply(200, "".join(out), ctype="text/event-stream")

class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

srv = Server(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
