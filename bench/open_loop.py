"""An open-loop HTTP/1.1 load generator on raw asyncio streams, for latency at a fixed rate.

Each request leaves at its scheduled moment whether or not earlier ones have answered, and its
latency counts from that moment: a stall shows in full instead of slowing the sender down (no
coordinated omission). Requests are encoded before the run and connections are kept alive, so
the sender costs microseconds per request; httpx's async client cost milliseconds, enough to
become the bottleneck at 100 requests a second on this machine.
"""

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        parts = urlsplit(self.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{self.method} {path} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """Send one request on a kept-alive connection; returns the status after reading the body."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _run(requests: list[Request], rate: float) -> tuple[list[float], int]:
    host_port = urlsplit(requests[0].url)
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    latencies: list[float] = []
    errors = 0

    async def one(slot: float, raw: bytes) -> None:
        nonlocal errors
        try:
            conn = (
                idle.pop()
                if idle
                else await asyncio.open_connection(host_port.hostname, host_port.port)
            )
            status = await _exchange(*conn, raw)
            idle.append(conn)
            if status != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
        latencies.append(time.perf_counter() - slot)

    encoded = [r.encode() for r in requests]
    start = time.perf_counter() + 0.2
    tasks = []
    for i, raw in enumerate(encoded):
        slot = start + i / rate
        await asyncio.sleep(max(0.0, slot - time.perf_counter()))
        tasks.append(asyncio.create_task(one(slot, raw)))
    await asyncio.gather(*tasks)
    for _reader, writer in idle:
        writer.close()
    return latencies, errors


def open_loop(requests: list[Request], rate: float) -> tuple[list[float], int]:
    """Send `requests` at `rate` a second; returns each latency (s) from its slot, and errors."""
    return asyncio.run(_run(requests, rate))
