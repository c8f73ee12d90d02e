"""Real faults for the fault tests and the benchmarks: a TCP proxy in front of PostgreSQL that can be cut (the
database goes down), and an NLU service on loopback that answers slowly (a stalled Rasa). No mocks of the parts
under test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field


@dataclass
class CuttableProxy:
    """Forwards TCP connections to `host:port` until `cut`, after which connections are reset and refused."""

    host: str
    port: int
    listen_port: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
        self.listen_port = self._server.sockets[0].getsockname()[1]

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        self._writers += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        """The database goes down: no new connections, and the open ones are closed under the client."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._writers:
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()


@dataclass
class SlowNlu:
    """An NLU service on loopback that answers every parse after `delay` seconds, like a stalled Rasa; it records
    when each answer went out."""

    delay: float
    port: int = 0
    answered_at: list[float] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode().split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = json.loads(await reader.readexactly(length) or b"{}")
                await asyncio.sleep(self.delay)
                answer = json.dumps(
                    {
                        "text": body.get("text", ""),
                        "intent": {"name": "visit", "confidence": 0.9},
                        "intent_ranking": [{"name": "visit", "confidence": 0.9}],
                        "entities": [],
                    }
                ).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
                await writer.drain()
                self.answered_at.append(time.monotonic())
