"""RPC latency from the gateway's side: pooled long-lived proxy vs proxy per call vs raw kombu.

Not a pass/fail test: `main()` prints a table. It starts its own infrastructure (databases,
vhost, SeaweedFS) and, in separate monkey-patched processes as in production, a registry service
and a tiny echo service, so the gateway side stays a plain threaded process like gunicorn's.
Rows: the same echo answered by nameko through each proxy style and by a raw kombu round trip
(the floor), plus registry.ping (a real service doing SELECT 1) through the pool.
"""
from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable

ROUNDS = int(os.environ.get("BENCH_RPC_ROUNDS", "300"))
PER_CALL_ROUNDS = int(os.environ.get("BENCH_RPC_PER_CALL_ROUNDS", "40"))
WARMUP = 10
THREADS = 8  # gunicorn --threads 8
ECHO_SERVICE = "bench_echo"
RAW_QUEUE = "bench-raw-echo"


def _echo_service_class():
    from nameko.rpc import rpc

    class BenchEcho:
        name = ECHO_SERVICE

        @rpc
        def echo(self, value):
            return value

    return BenchEcho


def serve_echo() -> None:
    """Entry of the echo service process (monkey patched before nameko starts)."""
    import eventlet

    eventlet.monkey_patch()
    import signal

    from nameko.runners import ServiceRunner

    from services.common.config import get_settings

    runner = ServiceRunner(get_settings().nameko_config())
    runner.add_service(_echo_service_class())
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn_n(runner.stop))
    runner.start()
    runner.wait()


# -- raw kombu ----------------------------------------------------------------------------------
class RawEchoServer(threading.Thread):
    """Answers each message on RAW_QUEUE to its reply_to: the floor any RPC stack adds to."""

    def __init__(self, amqp_uri: str):
        super().__init__(daemon=True, name="raw-echo")
        self.amqp_uri = amqp_uri
        self.ready = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        import kombu

        with kombu.Connection(self.amqp_uri) as conn:
            queue = kombu.Queue(RAW_QUEUE, exclusive=True, auto_delete=True)
            producer = conn.Producer(serializer="json")

            def answer(body, message):
                producer.publish(body, routing_key=message.properties["reply_to"],
                                 correlation_id=message.properties["correlation_id"])
                message.ack()

            with conn.Consumer(queue, callbacks=[answer]):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        continue


class RawEchoClient:
    def __init__(self, amqp_uri: str):
        import kombu

        self.conn = kombu.Connection(amqp_uri)
        self.reply_queue = kombu.Queue(f"bench-raw-reply-{uuid.uuid4().hex}", exclusive=True,
                                       auto_delete=True)
        self.producer = self.conn.Producer(serializer="json")
        self.replies: dict = {}
        self.consumer = self.conn.Consumer(self.reply_queue, callbacks=[self._on_reply],
                                           no_ack=True)
        self.consumer.consume()

    def _on_reply(self, body, message) -> None:
        self.replies[message.properties["correlation_id"]] = body

    def call(self, value):
        correlation_id = uuid.uuid4().hex
        self.producer.publish(value, routing_key=RAW_QUEUE, reply_to=self.reply_queue.name,
                              correlation_id=correlation_id)
        while correlation_id not in self.replies:
            self.conn.drain_events(timeout=10)
        return self.replies.pop(correlation_id)

    def close(self) -> None:
        self.consumer.cancel()
        self.conn.release()


# -- measuring ----------------------------------------------------------------------------------
def measure(call: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(min(WARMUP, rounds)):
        call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def measure_threads(pool, threads: int, rounds: int) -> tuple[list[float], float]:
    """Calls from `threads` gateway threads at once, each on its own pooled proxy.

    Returns (per-call timings, calls per second); every reply must be the caller's own.
    """
    timings: list[float] = []
    lock = threading.Lock()
    wrong: list = []

    def worker(index: int) -> None:
        pool.call(ECHO_SERVICE, "echo", (index,), {})  # opens this thread's proxy, untimed
        mine = []
        for n in range(rounds):
            value = {"thread": index, "n": n}
            started = time.perf_counter()
            answer = pool.call(ECHO_SERVICE, "echo", (value,), {})
            mine.append((time.perf_counter() - started) * 1000)
            if answer != value:
                wrong.append((value, answer))
        with lock:
            timings.extend(mine)

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    began = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    if wrong:
        raise AssertionError(f"replies crossed between threads: {wrong[:3]}")
    return timings, len(timings) / elapsed


def _wait_for(call: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            call()
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start within {timeout:.0f} s") from None
            time.sleep(0.3)


def _start_process(args: list[str], log_path: str) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process at the end
    return subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ))


def print_table(results: list[tuple[str, list[float]]]) -> None:
    floor = statistics.mean(results[0][1])
    print(f"{'path':<52} {'calls':>6} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'x raw':>7}")
    for label, timings in results:
        ordered = sorted(timings)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        mean = statistics.mean(timings)
        print(f"{label:<52} {len(timings):>6} {mean:>8.2f} {statistics.median(timings):>8.2f} "
              f"{p95:>8.2f} {mean / floor:>7.1f}")


def main() -> None:
    from nameko.standalone.rpc import ClusterRpcProxy

    from gateway.rpc import RpcPool
    from services.common import migrations
    from services.common.config import get_settings
    from services.common.topology import declare_topology
    from tests.support.infrastructure import Infrastructure

    # Closing a proxy per call makes amqp warn about replies in flight: noise in the table.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    infra = Infrastructure().start()
    processes: list[subprocess.Popen] = []
    pool = None
    raw_server = raw_client = None
    try:
        settings = get_settings()
        migrations.upgrade("registry")
        declare_topology()
        processes.append(_start_process(["-m", "services.common.runner", "registry"],
                                        str(infra.workdir / "registry.log")))
        processes.append(_start_process(
            ["-c", "from tests.bench.bench_rpc import serve_echo; serve_echo()"],
            str(infra.workdir / "echo.log")))
        raw_server = RawEchoServer(settings.amqp_uri)
        raw_server.start()
        raw_server.ready.wait(10)

        pool = RpcPool(settings)
        _wait_for(lambda: pool.call("registry", "ping", (), {}), "registry")
        _wait_for(lambda: pool.call(ECHO_SERVICE, "echo", (1,), {}), "echo service")
        raw_client = RawEchoClient(settings.amqp_uri)
        payload = {"nik": "3604055208909001", "name": "Siti Contoh"}

        def per_call() -> object:
            with ClusterRpcProxy(settings.nameko_config(),
                                 timeout=settings.rpc_timeout_seconds) as cluster:
                return cluster[ECHO_SERVICE].echo(payload)

        results = [
            ("raw kombu round trip (echo, no nameko)",
             measure(lambda: raw_client.call(payload), ROUNDS)),
            ("nameko RPC, pooled long-lived proxy (echo)",
             measure(lambda: pool.call(ECHO_SERVICE, "echo", (payload,), {},
                                       request_id="bench"), ROUNDS)),
            ("nameko RPC, ClusterRpcProxy opened per call (echo)",
             measure(per_call, PER_CALL_ROUNDS)),
            ("nameko RPC, pooled proxy, registry.ping (SELECT 1)",
             measure(lambda: pool.call("registry", "ping", (), {}), ROUNDS)),
        ]
        concurrent, throughput = measure_threads(pool, THREADS, ROUNDS // THREADS)
        results.append((f"nameko RPC, pooled, {THREADS} threads at once (echo)", concurrent))
        print(f"RPC latency on this machine ({os.cpu_count()} cores); one caller thread unless "
              "stated:")
        print_table(results)
        print(f"{THREADS} gateway threads on pooled proxies: {throughput:.0f} calls/s "
              f"(includes opening each thread's proxy once); proxies still open after those "
              f"threads ended: {pool.open_proxies}")
        pooled = statistics.mean(results[1][1])
        opened = statistics.mean(results[2][1])
        print(f"opening a proxy per call costs {opened / pooled:.1f}x the pooled call")
    finally:
        if raw_client is not None:
            raw_client.close()
        if raw_server is not None:
            raw_server.stopping.set()
            raw_server.join(timeout=5)
        if pool is not None:
            pool.close_all()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        infra.stop()


if __name__ == "__main__":
    main()
