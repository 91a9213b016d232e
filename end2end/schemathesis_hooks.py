"""schemathesis hooks for the contract test: the gRPC-Web route's body is
raw bytes (frames around a protobuf message), sent as they are."""

import schemathesis

schemathesis.serializer.alias("application/grpc-web+proto", "application/octet-stream")
