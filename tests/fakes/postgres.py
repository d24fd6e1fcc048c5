"""A PostgreSQL server that only refuses: it speaks the start of the wire protocol (SSL refused,
the startup message, a cleartext password asked for) and then answers with one FATAL error,
as a real server does for a wrong password or a database that does not exist.

The test database trusts every local connection, so a wrong password cannot be played on it;
this fake, on 127.0.0.1 and port 0 in a thread, asks for the password and records what it got::

    with RefusingPostgres(code="28P01", message='password authentication failed for user "x"'):
        ...
"""

from __future__ import annotations

import socketserver
import struct
import threading
from typing import Any

SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
WRONG_PASSWORD = "28P01"
NO_DATABASE = "3D000"


class RefusingPostgres:
    def __init__(self, *, code: str, message: str, ask_password: bool = True) -> None:
        self.code, self.message, self.ask_password = code, message, ask_password
        self.passwords: list[str] = []
        self.startups: list[dict[str, str]] = []
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                fake._converse(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> RefusingPostgres:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def _converse(self, connection: Any) -> None:
        connection.settimeout(10)
        while True:
            length, code = struct.unpack("!ii", _read(connection, 8))
            body = _read(connection, length - 8)
            if code in (SSL_REQUEST, GSS_REQUEST):
                connection.sendall(b"N")  # no encryption here: go on in plain text
                continue
            break
        words = body.split(b"\0")
        self.startups.append(
            {k.decode(): v.decode() for k, v in zip(words[0::2], words[1::2], strict=False) if k}
        )
        if self.ask_password:
            connection.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            kind = _read(connection, 1)
            (length,) = struct.unpack("!i", _read(connection, 4))
            password = _read(connection, length - 4)
            if kind == b"p":
                self.passwords.append(password.rstrip(b"\0").decode())
        fields = b"".join(
            key + value.encode() + b"\0"
            for key, value in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", self.code),
                (b"M", self.message),
            )
        )
        payload = fields + b"\0"
        connection.sendall(b"E" + struct.pack("!i", len(payload) + 4) + payload)


def _read(connection: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client went away")
        data += chunk
    return data
