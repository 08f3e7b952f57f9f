"""An OTLP/HTTP metrics receiver for the tests, built on PyPI's
opentelemetry-proto (the OpenTelemetry project's generated classes).

Listens on 127.0.0.1 (a free port, printed on the first line of stdout),
accepts POST /v1/metrics with Content-Type application/x-protobuf and
Content-Encoding gzip (anything else: 415), decodes each body as an
ExportMetricsServiceRequest (a body that does not decode: 400), and answers
an empty ExportMetricsServiceResponse. GET /received returns every decoded
request as JSON (protobuf's JSON mapping: 64-bit integers as strings).
Stops when stdin closes.
"""
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

received = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/metrics":
            return self.answer(404, b"not found", "text/plain")
        if self.headers.get("Content-Type") != "application/x-protobuf" or self.headers.get("Content-Encoding") != "gzip":
            return self.answer(415, b"want gzip protobuf", "text/plain")
        try:
            request = ExportMetricsServiceRequest()
            request.ParseFromString(gzip.decompress(body))
        except Exception as error:  # the sender must see why
            return self.answer(400, str(error).encode(), "text/plain")
        with lock:
            received.append(MessageToDict(request, preserving_proto_field_name=True))
        self.answer(200, ExportMetricsServiceResponse().SerializeToString(), "application/x-protobuf")

    def do_GET(self):
        if self.path != "/received":
            return self.answer(404, b"not found", "text/plain")
        with lock:
            body = json.dumps(received).encode()
        self.answer(200, body, "application/json")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
