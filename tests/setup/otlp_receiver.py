"""An OTLP/HTTP metrics receiver for the tests: decodes every export with the official
protobuf definitions (PyPI's opentelemetry-proto, not Stampede's code) and appends it
to a file as one JSON line. Prints its port, then serves on 127.0.0.1 until killed."""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

OUT = open(sys.argv[1], "a", encoding="utf-8")


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/metrics":
            return self.answer(404, b"not an OTLP metrics path")
        if self.headers.get("content-type") != "application/x-protobuf":
            return self.answer(415, b"OTLP/HTTP protobuf expected")
        req = ExportMetricsServiceRequest()
        try:
            req.ParseFromString(body)
        except Exception as e:  # a body that does not decode is the sender's fault
            return self.answer(400, str(e).encode())
        OUT.write(json.dumps(MessageToDict(req)) + "\n")
        OUT.flush()
        self.answer(200, ExportMetricsServiceResponse().SerializeToString())

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
