"""Serves DIR over HTTP/1.1 on 127.0.0.1:PORT, every file as application/json
(http.server would guess application/octet-stream for api/v1/metrics, a name
without an extension). For the benchmarks: python3 scripts/serve-json.py PORT DIR"""
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def guess_type(self, path):
        return "application/json"

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(
    ("127.0.0.1", int(sys.argv[1])),
    lambda *a: Handler(*a, directory=sys.argv[2]),
).serve_forever()
