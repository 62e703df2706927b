"""A TCP proxy the tests control: everything between clients and the broker, cut on demand."""
from __future__ import annotations

import socket
import threading

from .mosquitto import free_port


class Proxy:
    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.port = free_port()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                down, _ = self._server.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
                up.settimeout(None)
            except OSError:
                down.close()
                continue
            with self._lock:
                self._open |= {down, up}
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                self._open.discard(s)
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> int:
        """Break every connection now (both directions, mid-packet if need be); returns how many."""
        with self._lock:
            socks = list(self._open)
        self._drop(*socks)
        return len(socks) // 2

    def close(self) -> None:
        self._closed = True
        self._server.close()
        self.cut()
