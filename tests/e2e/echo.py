#!/usr/bin/env python3
"""Echo backend for the end-to-end suite, run inside a network namespace so it
looks like a pod: answers every request with JSON naming the backend and
listing what it received (method, path, query, lower-cased headers), so a
scenario can see which backend kingress picked and which headers it added
(X-Consumer-Username, Authorization, X-Forwarded-*).

Usage: echo.py ADDRESS:PORT NAME
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    backend = "?"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        doc = {
            "backend": self.backend,
            "method": self.command,
            "path": path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_bytes": len(body),
        }
        out = json.dumps(doc).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def log_request(self, code="-", size="-"):
        # One line per request on stderr (the suite's backend log): no query
        # and no headers, since they may carry tokens.
        path = self.path.partition("?")[0]
        sys.stderr.write("%s %s %s %s\n" % (self.backend, self.command, path, code))

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.backend, fmt % args))


def main():
    addr, Echo.backend = sys.argv[1], sys.argv[2]
    host, port = addr.rsplit(":", 1)
    ThreadingHTTPServer((host, int(port)), Echo).serve_forever()


if __name__ == "__main__":
    main()
