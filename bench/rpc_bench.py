"""Benchmark: RpcServer throughput vs a bare echo server using the same framing (loopback only).

Each server runs in its own process, with the same model (one thread per connection, frames read
with :func:`mega.rpc.codec.read_frame`). The load is ``--clients`` persistent connections (default
32), spread over ``--procs`` client processes, each sending one request and waiting for its reply
in a loop. The RPC server runs a trivial ``get_instance`` (a small dict built in memory), so the
figure measures the protocol layer: literal-only parsing, dispatch, argument binding, reply
encoding. Target (docs/product.md): RPC >= 50% of the echo server's requests/s.

The echo server is deliberately as efficient as the RPC server's own I/O (same FrameReader,
same kernel socket timeouts, same thread per connection), so the ratio isolates the protocol
cost. "server CPU" is the server process's user+system time per completed request (Linux).

    .venv/bin/python bench/rpc_bench.py [--seconds 5] [--warmup 1] [--clients 32] [--procs 2]

Not a test: it prints figures and exits 0 (1 if a server failed to start or a reply was wrong).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from mega.rpc import codec
from mega.rpc.server import RpcServer, configure_connection

PAYLOAD = repr({"HEAD": "MEGA", "TYPE": 0, "TIME": 0, "CYCLE": 0, "TARGET": 0,
                "VALUE": "get_instance", "ARGS": "model='backup',ip='10.0.0.1',port=3306"})


def get_instance(model: str | None = None, ip: str | None = None, port: int = 3306) -> dict[str, Any]:
    """The trivial function under test."""
    return {"model": model, "ip": ip, "port": port, "role": "master", "stat": 1}


# ------------------------------------------------------------------ servers (run in a child process)


def serve_echo() -> None:
    """A bare threaded server with the same framing: reply = the request payload."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    print(listener.getsockname()[1], flush=True)

    def handle(conn: socket.socket) -> None:
        configure_connection(conn, 10.0)  # same socket set-up as RpcServer
        reader = codec.FrameReader(conn)
        with conn:
            while True:
                try:
                    payload = reader.read_frame(time.monotonic() + 10)
                    conn.sendall(codec.encode_frame(payload))
                except (codec.FrameError, OSError):
                    return

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def serve_rpc() -> None:
    """RpcServer with the trivial function (logging at WARNING, as in production at INFO off)."""
    server = RpcServer({"get_instance": get_instance}, host="127.0.0.1", port=0, max_clients=256)
    print(server.bind(), flush=True)
    server.serve_forever()


def serve_mega() -> None:
    """The real thing: ``mega serve``'s RPC server and seed API over a SQLite store with one instance."""
    import logging
    import tempfile

    from mega import api
    from mega.daemon import rpc_server
    from mega.service import Service
    from mega.settings import load_settings

    logging.disable(logging.INFO)
    tmp = tempfile.mkdtemp(prefix="mega-bench-")
    settings = load_settings(db_url=f"sqlite:///{tmp}/mega.db", rpc_addr="127.0.0.1:1")
    service = Service(settings)
    service.store.upgrade()
    api.bind(service)
    service.add_instance("10.0.0.1", 3306, {"instance_name": "bench"})
    server = rpc_server(settings)
    server.port = 0
    print(server.bind(), flush=True)
    print(server.handle(PAYLOAD), flush=True)  # the expected reply
    server.serve_forever()


# ------------------------------------------------------------------ load (client processes)


def client_process(port: int, threads: int, start: float, warmup: float, seconds: float,
                   expect: str, out: Any) -> None:
    """Run ``threads`` closed-loop clients; put (completed in window, errors) on ``out``."""
    counts = [0] * threads
    errors = [0] * threads
    frame = codec.encode_frame(PAYLOAD)
    begin, end = start + warmup, start + warmup + seconds

    def loop(i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while time.monotonic() < start:
            time.sleep(0.001)
        while True:
            sock.sendall(frame)
            reply = codec.read_frame(sock, codec.DEFAULT_MAX_FRAME, time.monotonic() + 10)
            now = time.monotonic()
            if reply != expect:
                errors[i] += 1
            if begin <= now < end:
                counts[i] += 1
            elif now >= end:
                break
        sock.close()

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sum(counts), sum(errors)))


def measure(kind: str, clients: int, procs: int, warmup: float, seconds: float) -> tuple[float, int, float]:
    """Start the ``kind`` server in a child process; return (requests/s, wrong replies, server CPU us/request)."""
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", kind],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        if kind == "mega":
            expect = server.stdout.readline().rstrip("\n")
        else:
            expect = PAYLOAD if kind == "echo" else codec.encode_reply(get_instance("backup", "10.0.0.1", 3306))
        out: Any = mp.Queue()
        start = time.monotonic() + 0.5
        shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
        children = [mp.Process(target=client_process, args=(port, n, start, warmup, seconds, expect, out))
                    for n in shares if n]
        for child in children:
            child.start()
        time.sleep(max(0.0, start + warmup - time.monotonic()))
        cpu_before = _cpu_seconds(server.pid)
        time.sleep(max(0.0, start + warmup + seconds - time.monotonic()))
        cpu_used = _cpu_seconds(server.pid) - cpu_before
        results = [out.get(timeout=warmup + seconds + 30) for _ in children]
        for child in children:
            child.join(10)
        done = sum(r[0] for r in results)
        return done / seconds, sum(r[1] for r in results), (cpu_used / done * 1e6 if done else 0.0)
    finally:
        server.terminate()
        server.wait(10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by ``pid`` (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured window per server")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--procs", type=int, default=2, help="client processes sharing the clients")
    parser.add_argument("--serve", choices=["echo", "rpc", "mega"], help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve == "echo":
        serve_echo()
        return 0
    if opts.serve == "rpc":
        serve_rpc()
        return 0
    if opts.serve == "mega":
        serve_mega()
        return 0

    print(f"loopback, {opts.clients} concurrent clients in {opts.procs} processes, "
          f"{opts.seconds:g}s window after {opts.warmup:g}s warm-up, {os.cpu_count()} CPUs")
    echo_rps, echo_bad, echo_cpu = measure("echo", opts.clients, opts.procs, opts.warmup, opts.seconds)
    rpc_rps, rpc_bad, rpc_cpu = measure("rpc", opts.clients, opts.procs, opts.warmup, opts.seconds)
    mega_rps, mega_bad, mega_cpu = measure("mega", opts.clients, opts.procs, opts.warmup, opts.seconds)
    ratio = rpc_rps / echo_rps if echo_rps else 0.0
    real = mega_rps / echo_rps if echo_rps else 0.0
    print(f"echo server (same framing): {echo_rps:10.0f} req/s   server CPU {echo_cpu:6.1f} us/request")
    print(f"RpcServer, in-memory func:  {rpc_rps:10.0f} req/s   server CPU {rpc_cpu:6.1f} us/request  "
          f"ratio {ratio:.2f}")
    print(f"mega serve get_instance:    {mega_rps:10.0f} req/s   server CPU {mega_cpu:6.1f} us/request  "
          f"ratio {real:.2f} (target >= 0.50: {'met' if real >= 0.5 else 'NOT met'})")
    if echo_bad or rpc_bad or mega_bad:
        print(f"wrong replies: echo {echo_bad}, rpc {rpc_bad}, mega {mega_bad}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
