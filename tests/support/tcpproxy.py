"""A TCP forwarder in front of a real server (SeaweedFS) that a test can take down or make hang.

`down()`: nothing listens on the port any more (connection refused), like a stopped store.
`hang()`: connections are accepted and never answered, like a store that is stuck.
`up()`: forwarding again on the same port. Other tests keep using the real server directly.

The forwarder is its own small process (plain threads, no eventlet): taking it down closes every
connection at once, as a store that stops does.
"""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._process: subprocess.Popen | None = None
        self.up()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _start(self, mode: str) -> None:
        self._stop()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.tcpproxy", mode, str(self.port),
             self.target[0], str(self.target[1])],
            stdout=subprocess.PIPE, text=True, cwd=ROOT)
        line = self._process.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"the TCP forwarder did not start: {line!r}")
        self.port = int(line.split()[1])

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def up(self) -> None:
        self._start("forward")

    def hang(self) -> None:
        self._start("hang")

    def down(self) -> None:
        self._stop()

    def close(self) -> None:
        self._stop()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _serve(mode: str, port: int, target: tuple[str, int]) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    held = []
    while True:
        client, _ = listener.accept()
        if mode == "hang":
            held.append(client)  # accepted, never answered
            continue
        try:
            upstream = socket.create_connection(target, timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]), (sys.argv[3], int(sys.argv[4])))
