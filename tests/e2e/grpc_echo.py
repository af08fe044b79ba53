"""A gRPC backend for the e2e suite: service test.Echo with raw-bytes
messages (generic handlers, so no .proto and no protobuf), h2c on ADDR.

  python grpc_echo.py ADDR NAME

- Unary: answers b"NAME:<x-consumer-username or ->:" + the request bytes,
  with the initial metadata x-backend: NAME;
- Stream: the request bytes three times, suffixed 0, 1, 2.
"""
import sys
from concurrent import futures

import grpc

ADDR, NAME = sys.argv[1], sys.argv[2]


def unary(request, context):
    context.send_initial_metadata((("x-backend", NAME),))
    metadata = dict(context.invocation_metadata())
    consumer = metadata.get("x-consumer-username", "-")
    return f"{NAME}:{consumer}:".encode() + request


def stream(request, context):
    for i in range(3):
        yield request + str(i).encode()


handler = grpc.method_handlers_generic_handler(
    "test.Echo",
    {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
    },
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handler,))
server.add_insecure_port(ADDR)
server.start()
server.wait_for_termination()
