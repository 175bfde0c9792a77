"""One of the benchmark's apps served by waitress, the WSGI server of ``liaison serve``, in a process of its own.

The process is started with multiprocessing's ``spawn`` method, so it shares nothing with the
benchmark but what it is given: a ``ServerSpec`` (which app, and the configuration or database URL
to build it from). It builds the app itself (``create_app`` for the product, ``bench.bare.bare_app``
for the bare endpoint), listens on a free port of 127.0.0.1 with the same waitress settings for both,
tells the benchmark the port through a pipe, and serves until the benchmark says stop (or goes away:
the end of the pipe stops it too). It then answers with its peak resident memory (where the system tells it) and
exits 0.
"""

from __future__ import annotations

import _thread
import logging
import multiprocessing
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Literal

from flask import Flask

from liaison.config import Config

HOST = "127.0.0.1"
START_SECONDS = 120.0
STOP_SECONDS = 30.0


class ServerFailure(RuntimeError):
    """A server process did not start, or did not stop cleanly."""


@dataclass(frozen=True)
class ServerSpec:
    """What a server process builds its app from: ``config`` for the product, ``database_url`` for the bare app."""

    app: Literal["full", "bare"]
    threads: int
    config: Config | None = None
    database_url: str | None = None

    def waitress_settings(self) -> dict[str, Any]:
        """The same for both apps: only the port (a free one, chosen by the system) differs."""
        return {"host": HOST, "port": 0, "threads": self.threads, "ident": "liaison"}


# --- in the server process -----------------------------------------------------------------------


def build(spec: ServerSpec) -> tuple[Flask, Callable[[], None]]:
    """The app, and what closes its database connections."""
    from liaison import create_app, db

    if spec.app == "full":
        assert spec.config is not None
        app = create_app(spec.config)
        return app, app.extensions["liaison.engine"].dispose
    from bench.bare import bare_app

    assert spec.database_url is not None
    engine = db.make_engine(spec.database_url)
    return bare_app(engine), engine.dispose


def serve(spec: ServerSpec, pipe: Connection) -> None:
    """The server process: build, listen, report ("ready", port), serve until told, report ("stopped", peak KiB)."""
    from waitress import wasyncore
    from waitress.server import create_server

    # a flood keeps every thread busy on purpose: waitress's "Task queue depth" warning is the point, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        app, dispose = build(spec)
        server = create_server(app, **spec.waitress_settings())
    except BaseException:  # whatever it is, the benchmark must hear of it
        pipe.send(("failed", traceback.format_exc()))
        sys.exit(1)

    def wait_for_stop() -> None:
        try:
            pipe.recv()  # "stop", or EOFError when the benchmark's end of the pipe is gone
        except (EOFError, OSError):
            pass
        _thread.interrupt_main()  # a KeyboardInterrupt in the main thread, which waitress takes as "shut down"
        server.pull_trigger()  # and wake its loop now, not at its next timeout

    try:
        threading.Thread(target=wait_for_stop, name="stop-watcher", daemon=True).start()
        pipe.send(("ready", server.effective_port))
        server.run()  # returns on KeyboardInterrupt, its task threads shut down
    except KeyboardInterrupt:
        server.task_dispatcher.shutdown()
    finally:
        wasyncore.close_all(server._map)  # the listening socket and any connection left
        dispose()
    pipe.send(("stopped", peak_rss_kib()))
    pipe.close()


def peak_rss_kib() -> float | None:
    """This process's peak resident memory: VmHWM (Linux), which, unlike ``ru_maxrss``, does not count
    what the parent process had in memory when it started this one."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


# --- in the benchmark's process ------------------------------------------------------------------


@dataclass
class Server:
    name: str
    port: int
    pid: int
    peak_rss_kib: float | None = None


class _Process:
    def __init__(self, name: str, spec: ServerSpec) -> None:
        context = multiprocessing.get_context("spawn")
        self.name = name
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(target=serve, args=(spec, child_end), name=f"bench-{name}", daemon=True)
        self.process.start()
        child_end.close()  # only the server holds it now: its end of the pipe goes with it

    def receive(self, expected: str, seconds: float) -> Any:
        if not self.pipe.poll(seconds):
            raise ServerFailure(f"{self.name} server: no {expected!r} within {seconds:.0f} s")
        try:
            what, value = self.pipe.recv()
        except EOFError:
            self.process.join(STOP_SECONDS)
            raise ServerFailure(
                f"{self.name} server exited (status {self.process.exitcode}) before {expected!r}"
            ) from None
        if what != expected:
            raise ServerFailure(f"{self.name} server: {what}\n{value}")
        return value

    def stop(self) -> float | None:
        """Ask the server to stop and wait for it; its peak RSS in KiB, or None when it could not tell."""
        peak = None
        try:
            if self.process.is_alive():
                self.pipe.send("stop")
                peak = self.receive("stopped", STOP_SECONDS)
        except (ServerFailure, OSError):
            pass
        finally:
            self.pipe.close()
            self.process.join(STOP_SECONDS)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
                raise ServerFailure(f"{self.name} server did not stop within {STOP_SECONDS:.0f} s; killed")
        if self.process.exitcode != 0:
            raise ServerFailure(f"{self.name} server exited with status {self.process.exitcode}")
        return float(peak) if peak is not None else None


@contextmanager
def served(specs: dict[str, ServerSpec]) -> Iterator[dict[str, Server]]:
    """Every app of ``specs`` served in its own process (started together); all stopped on the way out.

    A server's peak resident memory is filled in on its ``Server`` once it has stopped."""
    processes: dict[str, _Process] = {}
    servers: dict[str, Server] = {}
    try:
        for name, spec in specs.items():
            processes[name] = _Process(name, spec)
        for name, process in processes.items():
            servers[name] = Server(name, process.receive("ready", START_SECONDS), process.process.pid or 0)
        yield servers
    except BaseException:
        _stop_all(processes, servers)  # a failure of their own is secondary to this one
        raise
    failure = _stop_all(processes, servers)
    if failure is not None:
        raise failure


def _stop_all(processes: dict[str, _Process], servers: dict[str, Server]) -> ServerFailure | None:
    """Stop every process, even when one fails to; the first failure, if any."""
    failure = None
    for name, process in processes.items():
        try:
            peak = process.stop()
        except ServerFailure as error:
            failure = failure or error
            continue
        if name in servers:
            servers[name].peak_rss_kib = peak
    return failure
