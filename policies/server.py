"""Serve the pack over the Analyzer protocol, as ``pulumi_policy.PolicyPack`` does, with PulumiPolicy.yaml's version.

``PolicyPack`` hands its servicer the fixed version "0.0.1" (pulumi_policy/policy.py: "Python policy packs should
specify a version in PulumiPolicy.yaml; the CLI will use the version specified there"). The CLI does replace the
version field of every diagnostic, but not the text the SDK writes into a note, so under the CLI a note read
"can't run policy ... from policy pack 'student-helper@v0.0.1'" beside a pack shown as v0.1.0. Serving the same
servicer ourselves with the real version is the only way to pass it. Everything else is PolicyPack's own start-up:
one gRPC server on a free local port, the port on stdout, serve until interrupted.
"""

from __future__ import annotations

import sys
from concurrent import futures

import grpc
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer

from .registry import PACK_NAME, PACK_VERSION, POLICIES

# As PolicyPack: the engine may send a whole stack in one AnalyzeStack call, far beyond gRPC's 4 MB default.
MAX_MESSAGE_BYTES = 400 * 1024 * 1024


def servicer() -> _PolicyAnalyzerServicer:
    """The SDK's Analyzer implementation over every registered policy (advisory unless a policy says otherwise)."""
    return _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, list(POLICIES), EnforcementLevel.ADVISORY)


def serve() -> None:
    """Start the server, print its port for the language host, and serve until interrupted."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
    )
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        server.stop(0)
