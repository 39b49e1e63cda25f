"""Stopping a long command cleanly on SIGINT (Ctrl-C) or SIGTERM (a service manager).

The first signal asks the command to stop: it is raised as `KeyboardInterrupt` so whatever is
running unwinds through its `finally` blocks (a Dagster run in progress is interrupted by
Dagster's own handler and recorded as failed, so nothing it wrote is marked materialized), and
the command then stops launching work and says how to resume. A second signal while it winds
down is raised again at once. The exit status is 128 + the signal number (130, 143), as a
shell reports a command killed by it.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """The command stopped on a signal; `exit_code` is what the process should return."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopOnSignal:
    """Within the block, SIGINT and SIGTERM raise `KeyboardInterrupt` and are remembered in
    `signum` (the first one). Outside the main thread it does nothing: only the main thread can
    take signals.

    Dagster replaces the handlers while a run executes and keeps no signal number, so every
    signal is also written to a wakeup pipe (the interpreter does that whatever handler is
    installed) and `poll()` reads which one it was.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, object] = {}
        self._pipe: tuple[int, int] | None = None
        self._previous_fd = -1

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self._pipe = (read, write)
            self._previous_fd = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        return self

    def poll(self) -> int | None:
        """The first signal received so far, by any handler."""
        if self._pipe is not None and self.signum is None:
            try:
                numbers = os.read(self._pipe[0], 512)
            except BlockingIOError:
                numbers = b""
            self.signum = next((n for n in numbers if n in SIGNALS), None)
        return self.signum

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        if self._pipe is not None:
            signal.set_wakeup_fd(self._previous_fd)
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        raise KeyboardInterrupt
