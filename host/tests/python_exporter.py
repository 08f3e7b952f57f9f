"""A real exporter we did not write: Python prometheus_client's own HTTP
server, with label values that are easy to get wrong (quotes, backslashes,
newlines, non-ASCII) in every metric type it has.

Prints the port it listens on (127.0.0.1, chosen by the system), then
serves until stdin closes, so it stops by itself when the test ends.
"""
import sys

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, start_http_server

TRICKY = ["plain", 'say "hi"', "C:\\dir\\file", "line1\nline2", "ünïcødé ✓ 日本", ""]

registry = CollectorRegistry()
requests = Counter("app_requests", "requests by path", ["path", "method"], registry=registry)
depth = Gauge("app_queue_depth", "queue depth\nsecond line with \\ backslash", ["queue"], registry=registry)
latency = Histogram("app_latency_seconds", "latency", ["path"], buckets=[0.01, 0.1, 1.0, 10.0], registry=registry)
sizes = Summary("app_request_bytes", "request sizes", ["path"], registry=registry)
info = Info("app_build", "build information", registry=registry)
state = Enum("app_state", "service state", states=["starting", "running"], registry=registry)

for i, value in enumerate(TRICKY):
    requests.labels(value, "GET").inc(i + 1)
    requests.labels(value, "POST").inc(0.5 * i)
    depth.labels(value).set(-1.5 * i)
    for v in [0.005, 0.05 * (i + 1), 2.0]:
        latency.labels(value).observe(v)
    sizes.labels(value).observe(100 * (i + 1))
info.info({"version": '1.2.3 "beta"', "commit": "abc\\def"})
state.state("running")
depth.labels("special").set(float("nan"))

server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
print(server.server_port, flush=True)
sys.stdin.read()
server.shutdown()
