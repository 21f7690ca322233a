#!/usr/bin/env python3
"""A tiny HTTP server for the transport's tests (not the LLM simulator).
Writes its port to the file given as argv[1]. Paths:
  /echo            echoes method, headers and body as JSON
  /sleep?ms=N      answers after N ms
  /status/N        answers with status N and a Retry-After header
  /reset           closes the connection without answering
  /close_later     answers, then closes the (idle) connection 50 ms later
  /big?n=N         answers N bytes
"""
import json, socket, sys, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, status, body, extra=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
    def handle_any(self):
        u = urlparse(self.path); q = parse_qs(u.query)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        if u.path == "/echo":
            self.reply(200, json.dumps({"method": self.command, "path": u.path, "query": u.query,
                "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}),
                [("X-Multi", "a"), ("X-Multi", "b")])
        elif u.path == "/sleep":
            time.sleep(int(q.get("ms", ["100"])[0]) / 1000.0); self.reply(200, '{"slept":true}')
        elif u.path.startswith("/status/"):
            self.reply(int(u.path.split("/")[2]), '{"error":"x"}', [("Retry-After", "1")])
        elif u.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close(); self.close_connection = True
        elif u.path == "/close_later":
            # a normal keep-alive answer, then the server closes the idle connection
            self.reply(200, '{"closing":true}')
            self.wfile.flush()
            time.sleep(0.05)
            self.close_connection = True
        elif u.path == "/big":
            self.reply(200, "x" * int(q.get("n", ["1000"])[0]))
        else:
            self.reply(404, '{"error":"not found"}')
    do_GET = do_POST = do_PUT = do_DELETE = handle_any

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f: f.write(str(srv.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
