"""Helpers shared by the collector tests (a deterministic clock, a raw socket server)."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    """A clock that advances one second per reading (deterministic retrieval times)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class RawServer:
    """A socket server answering every connection with fixed bytes (for what the lab cannot say)."""

    def __init__(self, payload: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.payload = payload
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        if payload is not None:  # None: accept nothing, so reads time out
            self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(65536)
                assert self.payload is not None
                conn.sendall(self.payload.replace(b"{URL}", self.url.encode()))

    def close(self) -> None:
        self._stop = True
        self.sock.close()
