"""A gRPC client for the e2e suite (grpcio, raw-bytes messages).

  python grpc_call.py TARGET METHOD PAYLOAD [--wait S] [KEY=VALUE...]

Prints `OK <response>` (a stream's messages joined by `,`) or
`ERR <STATUS_NAME> <details>`; KEY=VALUE pairs are sent as metadata.
--wait retries UNAVAILABLE for up to S seconds (a backend starting).
"""
import sys
import time

import grpc


def main():
    args = sys.argv[1:]
    target, method, payload = args[0], args[1], args[2].encode()
    wait = 0.0
    if "--wait" in args:
        wait = float(args[args.index("--wait") + 1])
    metadata = tuple(tuple(a.split("=", 1)) for a in args[3:] if "=" in a)
    channel = grpc.insecure_channel(target)
    deadline = time.time() + wait
    while True:
        try:
            if method.endswith("/Stream"):
                call = channel.unary_stream(method)
                answer = b",".join(call(payload, metadata=metadata, timeout=10))
            else:
                call = channel.unary_unary(method)
                answer = call(payload, metadata=metadata, timeout=10)
            print("OK " + answer.decode())
            return
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNAVAILABLE and time.time() < deadline:
                time.sleep(0.5)
                continue
            print(f"ERR {e.code().name} {e.details()}")
            return


main()
