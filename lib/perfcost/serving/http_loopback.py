"""A real HTTP server for the classifier on 127.0.0.1, and a load generator to measure it.

:func:`serve` starts the server in a separate process (``python -m
perfcost.serving.http_loopback --serve model.onnx``): the standard library's
``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive, one ONNX Runtime session with one
intra-op thread, the wire format of :mod:`perfcost.serving.wire`. It binds an ephemeral port and
prints ``READY <port>``; it stops when its standard input closes (the parent is gone), after
``max_seconds``, or when killed, which :func:`serve` always does on exit.

:func:`load_test` sends requests over keep-alive ``http.client`` connections from a few client
threads (each waits for its answer before sending the next: a closed loop) and reports the
throughput and the latency percentiles. Every socket has a timeout, so nothing waits forever.
Client and server share the machine's cores: the figures are those of the whole loopback path,
kernel and client included, not of the server alone.

Used by ``make bench`` and, optionally, chapter 5 (system design).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from perfcost.serving.wire import build_request, decode_features, encode_response, predict_one
from perfcost.validation import ParameterError, in_range, integer_in_range

__all__ = [
    "LoopbackResult",
    "ServerCost",
    "load_test",
    "measure_loopback",
    "measure_server_cost",
    "serve",
    "serve_process",
]

HOST = "127.0.0.1"
READY = "READY"
MAX_REQUESTS = 1_000_000
MAX_CLIENTS = 64
MAX_TIMEOUT_S = 600.0
WARMUP_PER_CLIENT = 5  # requests per connection sent before the clock starts


def _handler(model, features: int) -> type[BaseHTTPRequestHandler]:
    """A request handler answering POST /predict with ``model`` (an ONNX Runtime session)."""
    input_name = model.get_inputs()[0].name

    class Predict(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive by default

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                request_id, row = decode_features(body, features)
            except ParameterError as error:
                return self._refuse(str(error).encode())
            self.wfile.write(encode_response(request_id, predict_one(model, input_name, row)))

        def _refuse(self, message: bytes):
            self.send_response(400)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)

        def log_message(self, *args):  # no line per request on stderr
            pass

    return Predict


def _run_server(model_path: Path, max_seconds: float) -> None:
    """Serve ``model_path`` until standard input closes or ``max_seconds`` pass.

    Either ends the process at once (``os._exit``), as does any error, a parent gone before
    it read the ready line included: ``server.shutdown`` would wait for a ``serve_forever``
    that may never have started, and the server would outlive its parent.
    """
    from perfcost.compression.timing import session

    timer = threading.Timer(max_seconds, os._exit, args=(0,))
    timer.daemon = True
    timer.start()
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    try:
        model = session(model_path, threads=1)
        features = model.get_inputs()[0].shape[1]
        server = ThreadingHTTPServer((HOST, 0), _handler(model, features))
        server.daemon_threads = True
        print(f"{READY} {server.server_address[1]}", flush=True)
        server.serve_forever()
    finally:
        os._exit(1)


def _environment() -> dict[str, str]:
    """This process's environment with perfcost's folder first on PYTHONPATH."""
    library = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return os.environ | {"PYTHONPATH": library + (os.pathsep + path if path else "")}


def _wait_ready(process: subprocess.Popen, start_timeout_s: float, log: Path) -> int:
    """The port the server prints on its ready line; RuntimeError if it dies or is late."""
    deadline = time.monotonic() + start_timeout_s
    while (left := deadline - time.monotonic()) > 0 and process.poll() is None:
        if select.select([process.stdout], [], [], min(left, 0.2))[0]:
            line = process.stdout.readline().decode(errors="replace").split()
            if len(line) == 2 and line[0] == READY:
                return int(line[1])
    tail = log.read_text(errors="replace")[-800:]
    raise RuntimeError(f"the loopback server did not start within {start_timeout_s:g} s "
                       f"(exit code {process.poll()}): {tail}")


@contextlib.contextmanager
def serve(model_path: Path, *, start_timeout_s: float = 30.0,
          max_seconds: float = 600.0) -> Iterator[int]:
    """Run the server for ``model_path`` in a subprocess; yield its port; always kill it.

    ``start_timeout_s`` (in (0, 600]) bounds the wait for its ready line; ``max_seconds`` (in
    (0, 3,600]) is how long it lives at most if nothing kills it.
    """
    with serve_process(model_path, start_timeout_s=start_timeout_s,
                       max_seconds=max_seconds) as (port, _):
        yield port


@contextlib.contextmanager
def serve_process(model_path: Path, *, start_timeout_s: float = 30.0,
                  max_seconds: float = 600.0) -> Iterator[tuple[int, int]]:
    """As :func:`serve`, yielding the server's port and process id (to read its CPU time)."""
    model_path = _onnx_file(model_path)
    start_timeout_s = in_range("start_timeout_s", start_timeout_s, 0, MAX_TIMEOUT_S,
                               low_open=True)
    max_seconds = in_range("max_seconds", max_seconds, 0, 3_600, low_open=True)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        with log.open("wb") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "perfcost.serving.http_loopback", "--serve",
                 str(model_path), "--max-seconds", str(max_seconds)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                env=_environment())
        try:
            yield _wait_ready(process, start_timeout_s, log), process.pid
        finally:
            process.kill()
            process.wait(timeout=10)
            for stream in (process.stdin, process.stdout):
                stream.close()


def _onnx_file(model_path: object) -> Path:
    if not isinstance(model_path, str | Path) or not Path(model_path).is_file():
        raise ParameterError("model_path", "an existing ONNX file", model_path)
    return Path(model_path)


@dataclass(frozen=True)
class LoopbackResult:
    """Throughput and latency of the loopback server under a closed-loop load."""

    requests: int  # answered and timed (warm-up excluded)
    clients: int  # keep-alive connections, one client thread each
    errors: int  # requests that failed, timed out or came back wrong
    wall_s: float  # from the first timed request to the last answer
    throughput_rps: float  # answered requests / wall_s
    latency_p50_ms: float  # per request, client side (send to full answer)
    latency_p95_ms: float
    latency_p99_ms: float
    labels: tuple[int, ...] = field(repr=False)  # per request in order; -1 where it failed
    server_cpu_ms_per_request: float | None = None  # the server process's CPU time (user +
    # system) over the timed requests and their warm-up, per request; None if not measured


def _client(port: int, bodies: list[tuple[int, bytes]], timeout_s: float, warmup: list[bytes],
            start_line: threading.Barrier, found: dict) -> None:
    """One keep-alive connection: send ``warmup``, wait for the other clients at
    ``start_line``, then send ``bodies`` one after another, each timed."""
    headers = {"Content-Type": "application/json"}
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout_s)
    try:
        for body in warmup:
            connection.request("POST", "/predict", body, headers)
            connection.getresponse().read()
        start_line.wait()
        for index, body in bodies:
            start = time.perf_counter()
            connection.request("POST", "/predict", body, headers)
            answer = connection.getresponse().read()
            found[index] = (start, time.perf_counter(), answer)
    except (OSError, http.client.HTTPException, threading.BrokenBarrierError):
        start_line.abort()  # the requests left unanswered count as errors
    finally:
        connection.close()


def _label(index: int, answer: bytes | None) -> int:
    """The label in an answer to request ``index``; -1 if it is missing or for another id."""
    import json

    try:
        message = json.loads(answer)
        return int(message["label"]) if message["id"] == index else -1
    except (TypeError, ValueError, KeyError):
        return -1


def load_test(port: int, rows: np.ndarray, *, requests: int = 2_000, clients: int = 4,
              timeout_s: float = 10.0) -> LoopbackResult:
    """Send ``requests`` predictions for ``rows`` (cycling) to the server on ``port``.

    Parameters
    ----------
    port : int
        The server's port on 127.0.0.1 (from :func:`serve`).
    rows : ndarray
        Raw feature rows (rows, features).
    requests : int
        Timed requests in all, in [1, 1,000,000], shared among the clients.
    clients : int
        Keep-alive connections, each in its own thread, in [1, 64].
    timeout_s : float
        Limit on every socket operation, in (0, 600]; the whole test waits at most
        2 × timeout_s + 10 ms per request, then counts what is unanswered as errors.

    Returns
    -------
    LoopbackResult
    """
    port = integer_in_range("port", port, 1, 65_535)
    requests = integer_in_range("requests", requests, 1, MAX_REQUESTS)
    clients = integer_in_range("clients", clients, 1, MAX_CLIENTS)
    timeout_s = in_range("timeout_s", timeout_s, 0, MAX_TIMEOUT_S, low_open=True)
    rows = _rows(rows)
    bodies = [(i, build_request(i, rows[i % len(rows)]).split(b"\r\n\r\n", 1)[1])
              for i in range(requests)]
    warmup = [body for _, body in bodies[:WARMUP_PER_CLIENT]]
    found: dict = {}
    start_line = threading.Barrier(clients, timeout=timeout_s)
    threads = [threading.Thread(target=_client, daemon=True, args=(
        port, bodies[k::clients], timeout_s, warmup, start_line, found))
        for k in range(clients)]
    return _run_clients(threads, found, requests, timeout_s)


def _rows(rows: object) -> np.ndarray:
    rows = np.asarray(rows, dtype=float) if isinstance(rows, np.ndarray) else None
    if rows is None or rows.ndim != 2 or len(rows) == 0 or not np.all(np.isfinite(rows)):
        raise ParameterError("rows", "a non-empty 2-D array of finite feature rows", rows)
    return rows


def _run_clients(threads: list[threading.Thread], found: dict, requests: int,
                 timeout_s: float) -> LoopbackResult:
    """Start the client threads, wait for them (at most ``timeout_s`` beyond the first),
    and summarise what came back."""
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s * 2 + requests * 0.01
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    answers = dict(found)  # a thread still running past the deadline adds no more
    labels = tuple(_label(i, answers[i][2] if i in answers else None) for i in range(requests))
    times = np.array([answers[i][:2] for i in answers]) if answers else np.zeros((1, 2))
    wall_s = max(float(times[:, 1].max() - times[:, 0].min()), 1e-9)
    p50, p95, p99 = np.percentile((times[:, 1] - times[:, 0]) * 1e3, [50, 95, 99])
    return LoopbackResult(len(answers), len(threads), sum(label < 0 for label in labels),
                          wall_s, len(answers) / wall_s, float(p50), float(p95), float(p99),
                          labels)


def measure_loopback(model_path: Path, rows: np.ndarray, *, requests: int = 2_000,
                     clients: int = 4, timeout_s: float = 10.0) -> LoopbackResult:
    """Start the server for ``model_path``, run :func:`load_test` against it, stop it.

    Also reads the server process's CPU time (user + system, threads and kernel work on its
    sockets included) before and after the load: ``server_cpu_ms_per_request`` is what one
    request costs the server's cores, whatever the client takes of the shared machine.
    """
    import psutil

    with serve_process(model_path) as (port, pid):
        server = psutil.Process(pid)
        before = _cpu_s(server)
        result = load_test(port, rows, requests=requests, clients=clients, timeout_s=timeout_s)
        sent = result.requests + clients * WARMUP_PER_CLIENT
        cpu_ms = 1000.0 * (_cpu_s(server) - before) / max(sent, 1)
    return replace(result, server_cpu_ms_per_request=cpu_ms)


@dataclass(frozen=True)
class ServerCost:
    """What one request costs the loopback server's cores, over repeated load tests."""

    cpu_ms_per_request: float  # typical repeat (geometric mean of the repeats)
    cpu_low_ms: float  # 95% t-interval over the repeats
    cpu_high_ms: float
    throughput_rps: float  # median over the repeats (client and server share the machine)
    latency_p95_ms: float  # median over the repeats, client side
    repeats: int
    requests: int  # timed requests per repeat
    clients: int


def measure_server_cost(model_path: Path, rows: np.ndarray, *, repeats: int = 5,
                        requests: int = 2_000, clients: int = 4,
                        timeout_s: float = 10.0) -> ServerCost:
    """Run :func:`load_test` ``repeats`` times (in [2, 100]) against one server and read the
    server's CPU time per request each time (:func:`measure_loopback` explains the figure).

    Each repeat is a replicate: the figure is their geometric mean with a 95% t-interval over
    the repeats (:func:`perfcost.significance.replicate_interval`). The kernel counts CPU
    time in ticks (10 ms on Linux), so a repeat of 2,000 requests at ~0.2 ms each reads its
    ~400 ms to within a few percent.
    """
    import psutil

    from perfcost.significance import replicate_interval

    repeats = integer_in_range("repeats", repeats, 2, 100)
    found = []
    with serve_process(model_path) as (port, pid):
        server = psutil.Process(pid)
        for _ in range(repeats):
            before = _cpu_s(server)
            result = load_test(port, rows, requests=requests, clients=clients,
                               timeout_s=timeout_s)
            sent = result.requests + clients * WARMUP_PER_CLIENT
            found.append((1000.0 * (_cpu_s(server) - before) / max(sent, 1),
                          result.throughput_rps, result.latency_p95_ms))
    cpu, rps, p95 = (np.array(column) for column in zip(*found, strict=True))
    typical, low, high = replicate_interval(cpu, confidence=0.95)
    return ServerCost(typical, low, high, float(np.median(rps)), float(np.median(p95)),
                      repeats, requests, clients)


def _cpu_s(process) -> float:
    """A process's user + system CPU seconds so far."""
    times = process.cpu_times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> None:
    """``python -m perfcost.serving.http_loopback --serve model.onnx``: run the server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=Path, required=True, help="the ONNX model to serve")
    parser.add_argument("--max-seconds", type=float, default=600.0,
                        help="stop after this many seconds whatever happens")
    arguments = parser.parse_args(argv)
    _run_server(arguments.serve, arguments.max_seconds)


if __name__ == "__main__":
    main()
