"""A Prometheus remote write 2.0 receiver for the tests.

The messages are described to Python's protobuf runtime from the field
numbers of the remote write 2.0 specification (io.prometheus.write.v2);
bodies are snappy block format, decoded with cramjam. Every request is
checked against the specification's rules (symbols start with "", label
references in pairs and in range, label names sorted without duplicates,
__name__ present, no empty names or values, one sample or histogram per
series, metadata typed); what breaks one is recorded as an error.

Usage: remote_write_2_receiver.py [speaks-2.0 | refuses-2.0]
- speaks-2.0: answers 204 with X-Prometheus-Remote-Write-*-Written headers.
- refuses-2.0: answers 415 to 2.0 and 204 to 1.0 requests (counted).
Listens on 127.0.0.1, a free port printed on the first line of stdout;
GET /received returns {"requests": [...], "errors": [...], "v1_requests": N};
stops when stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
SCHEMA = {
    "Request": [("symbols", 4, F.TYPE_STRING, True, None), ("timeseries", 5, F.TYPE_MESSAGE, True, "TimeSeries")],
    "TimeSeries": [
        ("labels_refs", 1, F.TYPE_UINT32, True, None),
        ("samples", 2, F.TYPE_MESSAGE, True, "Sample"),
        ("histograms", 3, F.TYPE_MESSAGE, True, "Histogram"),
        ("exemplars", 4, F.TYPE_MESSAGE, True, "Exemplar"),
        ("metadata", 5, F.TYPE_MESSAGE, False, "Metadata"),
        ("created_timestamp", 6, F.TYPE_INT64, False, None),
    ],
    "Exemplar": [("labels_refs", 1, F.TYPE_UINT32, True, None), ("value", 2, F.TYPE_DOUBLE, False, None), ("timestamp", 3, F.TYPE_INT64, False, None)],
    "Sample": [("value", 1, F.TYPE_DOUBLE, False, None), ("timestamp", 2, F.TYPE_INT64, False, None)],
    "Metadata": [("type", 1, F.TYPE_UINT32, False, None), ("help_ref", 3, F.TYPE_UINT32, False, None), ("unit_ref", 4, F.TYPE_UINT32, False, None)],
    "Histogram": [
        ("count_int", 1, F.TYPE_UINT64, False, None),
        ("count_float", 2, F.TYPE_DOUBLE, False, None),
        ("sum", 3, F.TYPE_DOUBLE, False, None),
        ("schema", 4, F.TYPE_SINT32, False, None),
        ("zero_threshold", 5, F.TYPE_DOUBLE, False, None),
        ("zero_count_int", 6, F.TYPE_UINT64, False, None),
        ("zero_count_float", 7, F.TYPE_DOUBLE, False, None),
        ("negative_spans", 8, F.TYPE_MESSAGE, True, "BucketSpan"),
        ("negative_deltas", 9, F.TYPE_SINT64, True, None),
        ("negative_counts", 10, F.TYPE_DOUBLE, True, None),
        ("positive_spans", 11, F.TYPE_MESSAGE, True, "BucketSpan"),
        ("positive_deltas", 12, F.TYPE_SINT64, True, None),
        ("positive_counts", 13, F.TYPE_DOUBLE, True, None),
        ("reset_hint", 14, F.TYPE_UINT32, False, None),
        ("timestamp", 15, F.TYPE_INT64, False, None),
        ("custom_values", 16, F.TYPE_DOUBLE, True, None),
    ],
    "BucketSpan": [("offset", 1, F.TYPE_SINT32, False, None), ("length", 2, F.TYPE_UINT32, False, None)],
}
METRIC_TYPES = {1: "counter", 2: "gauge", 3: "histogram", 4: "gaugehistogram", 5: "summary", 6: "info", 7: "stateset"}


def build_request_class():
    file = descriptor_pb2.FileDescriptorProto(name="remote_write_2_test.proto", package="io.prometheus.write.v2", syntax="proto3")
    for message, fields in SCHEMA.items():
        descriptor = file.message_type.add(name=message)
        for name, number, kind, repeated, type_name in fields:
            field = descriptor.field.add(name=name, number=number, type=kind)
            field.label = F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL
            if type_name:
                field.type_name = ".io.prometheus.write.v2." + type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("io.prometheus.write.v2.Request"))


Request = build_request_class()
MODE = sys.argv[1] if len(sys.argv) > 1 else "speaks-2.0"
received, errors, v1_requests = [], [], [0]
lock = threading.Lock()


def decode(request):
    """The request as JSON-able series; rule violations go to `errors`."""
    symbols = list(request.symbols)
    problems = []
    if not symbols or symbols[0] != "":
        problems.append("symbols do not start with an empty string")
    series = []
    for ts in request.timeseries:
        refs = list(ts.labels_refs)
        if len(refs) % 2 or any(r >= len(symbols) for r in refs):
            problems.append(f"labels_refs {refs} not in pairs or out of range")
            continue
        pairs = [(symbols[refs[i]], symbols[refs[i + 1]]) for i in range(0, len(refs), 2)]
        names = [name for name, _ in pairs]
        if names != sorted(set(names)):
            problems.append(f"label names {names} not sorted or repeated")
        if "__name__" not in names or any(not name or not value for name, value in pairs):
            problems.append(f"labels {pairs}: no __name__, or an empty name or value")
        if len(ts.samples) + len(ts.histograms) != 1:
            problems.append(f"{pairs}: {len(ts.samples)} samples and {len(ts.histograms)} histograms")
        if ts.metadata.type not in METRIC_TYPES or ts.metadata.help_ref >= len(symbols):
            problems.append(f"{pairs}: metadata {ts.metadata}")
        entry = {
            "labels": dict(pairs),
            "type": METRIC_TYPES.get(ts.metadata.type),
            "help": symbols[ts.metadata.help_ref] if ts.metadata.help_ref < len(symbols) else None,
            "created_timestamp": ts.created_timestamp,
        }
        for sample in ts.samples:
            entry["value"] = repr(sample.value)
            entry["timestamp"] = sample.timestamp
        for h in ts.histograms:
            entry["histogram"] = {
                "count": h.count_int,
                "sum": repr(h.sum),
                "schema": h.schema,
                "zero_threshold": h.zero_threshold,
                "zero_count": h.zero_count_int,
                "positive_spans": [[s.offset, s.length] for s in h.positive_spans],
                "positive_deltas": list(h.positive_deltas),
                "negative_spans": [[s.offset, s.length] for s in h.negative_spans],
                "negative_deltas": list(h.negative_deltas),
            }
            entry["timestamp"] = h.timestamp
        series.append(entry)
    return series, problems


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        is_v2 = content_type == "application/x-protobuf;proto=io.prometheus.write.v2.Request"
        if self.headers.get("Content-Encoding") != "snappy":
            return self.answer(400, b"want snappy")
        if not is_v2:
            if self.headers.get("X-Prometheus-Remote-Write-Version") != "0.1.0":
                return self.answer(400, b"a 1.0 request must say version 0.1.0")
            with lock:
                v1_requests[0] += 1
            return self.answer(204)
        if MODE == "refuses-2.0":
            return self.answer(415, b"remote write 2.0 is not supported here")
        if self.headers.get("X-Prometheus-Remote-Write-Version") != "2.0.0":
            return self.answer(400, b"a 2.0 request must say version 2.0.0")
        try:
            request = Request()
            request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
        except Exception as error:
            return self.answer(400, str(error).encode())
        series, problems = decode(request)
        with lock:
            received.append(series)
            errors.extend(problems)
        if problems:
            return self.answer(400, "; ".join(problems).encode())
        samples = sum(1 for s in series if "value" in s)
        histograms = sum(1 for s in series if "histogram" in s)
        self.answer(204, headers=[
            ("X-Prometheus-Remote-Write-Samples-Written", str(samples)),
            ("X-Prometheus-Remote-Write-Histograms-Written", str(histograms)),
            ("X-Prometheus-Remote-Write-Exemplars-Written", "0"),
        ])

    def do_GET(self):
        with lock:
            body = json.dumps({"requests": received, "errors": errors, "v1_requests": v1_requests[0]}).encode()
        self.answer(200, body, [("Content-Type", "application/json")])

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
