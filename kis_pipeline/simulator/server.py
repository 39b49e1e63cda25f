"""`SimulatorServer`: the REST and WebSocket apps on loopback ports, on one background loop.

Tests and the embedded `KIS_ENV=sim` mode use it as a context manager; `run_forever()` backs
the `kis-pipeline sim` command. Ports 0 pick free ports; the sockets are bound before
`start()` returns, so the URLs are usable at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.rest import create_rest_app
from kis_pipeline.simulator.state import SimState

# In-flight requests (a `timeout` fault hangs for timeout_s) get this long on shutdown.
SHUTDOWN_GRACE_S = 0.5


def _ws_app_factory() -> Callable[[SimState], web.Application] | None:
    """The WebSocket app factory, or None while `simulator.ws` does not exist."""
    try:
        from kis_pipeline.simulator.ws import create_ws_app
    except ModuleNotFoundError as exc:
        if exc.name != "kis_pipeline.simulator.ws":
            raise
        return None
    return create_ws_app


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class SimulatorServer:
    """The simulator running in this process (see the module docstring)."""

    def __init__(
        self,
        config: SimConfig,
        *,
        host: str = "127.0.0.1",
        rest_port: int = 0,
        ws_port: int = 0,
        market: Any | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self._ports = (rest_port, ws_port)
        self._market = market
        self._state: SimState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._bound: tuple[int, int] = (0, 0)
        self.has_ws = False

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        from kis_pipeline.simulator.market import Market

        market = self._market if self._market is not None else Market(self.config)
        _warm(market)
        state = SimState(self.config, market)
        socks = [_bind(self.host, self._ports[0])]
        try:
            socks.append(_bind(self.host, self._ports[1]))
        except OSError:
            socks[0].close()
            raise
        self._bound = (socks[0].getsockname()[1], socks[1].getsockname()[1])
        self._state = state
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            # Everything, setup included, happens on this thread: start() may be called from
            # code that already runs an event loop of its own.
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(state, socks))
            except BaseException as exc:
                failure.append(exc)
                loop.run_until_complete(self._cleanup())
                loop.close()
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        thread = threading.Thread(target=run, name="kis-simulator", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            for sock in socks:
                sock.close()
            raise RuntimeError("the simulator could not start its apps") from failure[0]
        self._loop, self._thread = loop, thread
        return self

    async def _serve(self, state: SimState, socks: list[socket.socket]) -> None:
        apps = [create_rest_app(state)]
        factory = _ws_app_factory()
        self.has_ws = factory is not None
        apps.append(factory(state) if factory is not None else _no_ws_app())
        for app, sock in zip(apps, socks, strict=True):
            runner = web.AppRunner(
                app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S
            )
            await runner.setup()
            self._runners.append(runner)
            await web.SockSite(runner, sock).start()

    async def _cleanup(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._thread = None

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- what callers use ----------------------------------------------------------------

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def rest_port(self) -> int:
        return self._bound[0]

    @property
    def ws_port(self) -> int:
        return self._bound[1]

    @property
    def rest_url(self) -> str:
        return f"http://{self._url_host()}:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self._url_host()}:{self.ws_port}"

    @property
    def master_url(self) -> str:
        return f"{self.rest_url}/common/master"

    @property
    def state(self) -> SimState:
        if self._state is None:
            raise RuntimeError("simulator not started")
        return self._state

    def stats(self) -> dict[str, Any]:
        """The same report as GET /sim/stats, taken on the server's loop so that no counter
        changes while it is read."""
        state, loop = self.state, self._loop
        if loop is None or not loop.is_running() or self._on_loop_thread():
            return state.snapshot()

        async def take() -> dict[str, Any]:
            return state.snapshot()

        return asyncio.run_coroutine_threadsafe(take(), loop).result(timeout=10)

    def _on_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread


def _warm(market: Any) -> None:
    """Build the market's lazy model now (seconds for a full universe) rather than inside
    the first request, where it would stall every client of the event loop."""
    session = market.last_completed_session()
    if market.listings:
        market.bar(market.listings[0].symbol, session)
    for code in market.INDEX_CODES:
        market.index_bars(code, session, session)


def _no_ws_app() -> web.Application:
    """Stand-in on the WebSocket port while the WebSocket app is not available."""

    async def unavailable(request: web.Request) -> web.Response:
        return web.Response(status=503, text="the simulator was built without its WebSocket app")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unavailable)
    return app


def run_forever(
    config: SimConfig,
    host: str = "127.0.0.1",
    rest_port: int = 18443,
    ws_port: int = 18000,
    *,
    echo: Callable[[str], None] | None = None,
) -> signal.Signals:
    """Serve until Ctrl-C or SIGTERM (`kis-pipeline sim`), printing the URLs on start; returns
    the signal that stopped it."""
    # Flushed at once: scripts that start the simulator wait for these lines on a pipe.
    echo = echo or functools.partial(print, flush=True)
    stop = threading.Event()
    received: list[signal.Signals] = [signal.SIGINT]

    def on_signal(signum: int, frame: object) -> None:
        received[0] = signal.Signals(signum)
        stop.set()

    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        # Both signals set the event (a KeyboardInterrupt could land between two statements
        # and skip the clean stop).
        previous = {n: signal.signal(n, on_signal) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        with SimulatorServer(config, host=host, rest_port=rest_port, ws_port=ws_port) as server:
            echo(f"KIS simulator REST      {server.rest_url}")
            echo(f"KIS simulator WebSocket {server.ws_url}")
            if not server.has_ws:
                echo("  (WebSocket app not available in this build)")
            echo(f"  masters {server.master_url}  stats {server.rest_url}/sim/stats")
            echo(
                f"  universe={config.universe} seed={config.seed} start={config.start} "
                f"rate_limit={config.rate_limit}/s faults={config.faults.describe()}"
            )
            echo("Press Ctrl-C to stop.")
            while not stop.wait(1.0):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
    echo("KIS simulator stopped.")
    return received[0]
