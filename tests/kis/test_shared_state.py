"""The rate limiter and token store are shared by the processes of a machine or of many hosts."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import multiprocessing as mp
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kis_pipeline.common.files import file_lock
from kis_pipeline.kis import ratelimit
from kis_pipeline.kis.auth import FileTokenStore, IssuedToken, LockedTokenStore
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.ratelimit import FileRateLimiter, LocalRateLimiter
from kis_pipeline.kis.redis_state import RedisState, RedisTokenStore
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.limits import RestLimiter
from kis_pipeline.simulator.server import SimulatorServer
from tests.helpers.simulator import sim_environ
from tests.secret_scan import random_secret, scan

RATE = 20.0
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"


def _hammer(path: str, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    limiter = FileRateLimiter(Path(path), RATE)
    slots = []
    deadline = time.time() + seconds
    while time.time() < deadline:
        limiter.acquire()
        # The slot the shared state granted, not when this process got the CPU back: the
        # property under test is the schedule, whatever the machine's load.
        slots.append(limiter.last_slot)
    out.put(slots)


def max_in_any_window(stamps: list[float], width: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        # A microsecond of tolerance: evenly spaced slots land on the window's edge exactly.
        while t - stamps[lo] >= width - 1e-6:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def test_two_processes_sharing_a_key_stay_under_the_limit_together(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    path = tmp_path / "ratelimit.gcra"
    workers = [ctx.Process(target=_hammer, args=(str(path), 2.0, out)) for _ in range(2)]
    for w in workers:
        w.start()
    stamps = out.get(timeout=30) + out.get(timeout=30)
    for w in workers:
        w.join(timeout=30)
    # Each process alone would take 20/s; sharing the file they must split one budget.
    assert max_in_any_window(stamps) <= RATE
    ordered = sorted(stamps)
    assert min(b - a for a, b in itertools.pairwise(ordered)) >= 1 / RATE - 1e-6


def test_requests_are_spaced_evenly_with_no_burst_at_start() -> None:
    limiter = LocalRateLimiter(50.0)
    started = time.monotonic()
    for _ in range(10):
        limiter.acquire()
    # A token bucket would let the first requests through back to back; GCRA spaces all ten
    # by 20 ms from the first. (A loaded machine can only make this slower, never faster.)
    assert time.monotonic() - started >= 9 / 50.0 - 0.002


def _issuer(counter: Path) -> IssuedToken:
    with file_lock(counter.with_suffix(".lock")):
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
    now = time.time()
    return IssuedToken(value=f"token-{n}", issued_at=now, expires_at=now + 86_400)


def _get_token(state_dir: str, counter: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    store = FileTokenStore(Path(state_dir), "key")
    out.put(store.access_token(lambda: _issuer(Path(counter))).value)


def test_concurrent_processes_share_one_token_issuance(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    counter = tmp_path / "issued"
    workers = [
        ctx.Process(target=_get_token, args=(str(tmp_path), str(counter), out)) for _ in range(4)
    ]
    for w in workers:
        w.start()
    tokens = {out.get(timeout=30) for _ in workers}
    for w in workers:
        w.join(timeout=30)
    assert tokens == {"token-1"}
    assert counter.read_text() == "1"


def test_token_file_is_private_and_holds_no_secret(
    sim_server: SimulatorServer, tmp_path: Path
) -> None:
    # The real client issues through the simulator, which takes this secret (a different one
    # for the same key would be refused): the secret passes through the issuer in full.
    secret = random_secret()
    state = tmp_path / "state"
    settings = KisSettings.from_env(sim_environ(sim_server, state, KIS_APP_SECRET=secret))
    symbol = sim_server.state.market.listings[0].symbol
    with KisClient(settings) as client:
        client.get(
            PRICE_PATH, "FHKST01010100", {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol}
        )
        client.approval_key()
    path = FileTokenStore(state, settings.key_id).path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    held = json.loads(path.read_text())
    assert held["access"]["value"] and held["approval"]["value"]
    result = scan(secret, roots=[state])
    assert path in result.files
    assert result.found == []


def test_the_secret_scan_finds_a_secret_in_files_databases_and_output(tmp_path: Path) -> None:
    secret = random_secret()
    (tmp_path / "tokens.json").write_text(json.dumps({"appsecret": secret}))
    with contextlib.closing(sqlite3.connect(tmp_path / "events.db")) as db, db:
        db.execute("create table event_logs (event text)")
        db.execute("insert into event_logs values (?)", (f'{{"message": "{secret}"}}',))
    (tmp_path / "step.err").write_text(f"sent appsecret={secret[:40]}...\n")
    (tmp_path / "clean.out").write_text("nothing to see\n")
    found = scan(secret, roots=[tmp_path], texts={"stderr": f"{secret[-33:]}\n", "stdout": "ok"})
    assert sorted(Path(f).name for f in found.found) == [
        "events.db",
        "stderr",
        "step.err",
        "tokens.json",
    ]


MakeStore = Callable[..., LockedTokenStore]


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.services)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """Token stores of one app key, as separate processes (file) or hosts (Redis) hold them."""
    if request.param == "file":
        return functools.partial(FileTokenStore, tmp_path, "key")
    state = RedisState(request.getfixturevalue("redis_url"))
    return functools.partial(RedisTokenStore, state, "key")


def test_refresh_replaces_only_the_rejected_token_and_respects_the_issue_interval(
    make_store: MakeStore,
) -> None:
    clock = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    issued = []

    def issue() -> IssuedToken:
        issued.append(clock[0])
        return IssuedToken(
            value=f"t{len(issued)}", issued_at=clock[0], expires_at=clock[0] + 86_400
        )

    store, elsewhere = (make_store(clock=lambda: clock[0], sleep=sleep) for _ in range(2))
    assert store.access_token(issue).value == "t1"
    # Another process already refreshed: a caller holding an older rejected value gets t1.
    assert elsewhere.access_token(issue, stale="t0").value == "t1"
    clock[0] += 10
    assert elsewhere.access_token(issue, stale="t1").value == "t2"
    # The second issuance waited until a minute after the first (EGW00133 avoided).
    assert issued == [1000.0, 1060.0]
    assert slept == [50.0]


def test_token_is_refreshed_shortly_before_expiry(make_store: MakeStore) -> None:
    clock = [0.0]
    count = []

    def issue() -> IssuedToken:
        count.append(1)
        return IssuedToken(value=f"t{len(count)}", issued_at=clock[0], expires_at=clock[0] + 86_400)

    store = make_store(clock=lambda: clock[0], sleep=lambda s: None)
    store.access_token(issue)
    clock[0] = 86_400 - 3_601
    assert store.access_token(issue).value == "t1"
    clock[0] = 86_400 - 3_599
    assert store.access_token(issue).value == "t2"


def test_a_rejected_token_waits_out_the_minute_once_for_every_caller_and_says_so(
    make_store: MakeStore,
) -> None:
    clock = [1000.0]
    slept: list[float] = []
    notices: list[tuple[float, str]] = []
    issued: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    def issue() -> IssuedToken:
        issued.append(clock[0])
        return IssuedToken(f"t{len(issued)}", issued_at=clock[0], expires_at=clock[0] + 86_400)

    def notice(seconds: float, message: str) -> None:
        with lock:
            notices.append((seconds, message))

    store = make_store(clock=lambda: clock[0], sleep=sleep, on_wait=notice)
    assert store.access_token(issue).value == "t1"
    clock[0] += 17
    # Five callers (threads, or processes through the file lock) saw KIS reject t1.
    with ThreadPoolExecutor(5) as pool:
        tokens = list(pool.map(lambda _: store.access_token(issue, stale="t1").value, range(5)))
    assert tokens == ["t2"] * 5
    assert issued == [1000.0, 1060.0] and slept == [43.0]
    [(seconds, message)] = notices
    assert seconds == 43.0
    assert "one access token a minute per app key" in message and "in 43 s" in message
    assert "\n" not in message


def test_the_wait_for_a_token_is_logged_by_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [0.0]

    def issue() -> IssuedToken:
        return IssuedToken(f"t{clock[0]}", issued_at=clock[0], expires_at=clock[0] + 86_400)

    store = FileTokenStore(tmp_path, "key", clock=lambda: clock[0], sleep=lambda s: None)
    token = store.access_token(issue)
    clock[0] = 20.0
    with caplog.at_level(logging.WARNING, logger="kis_pipeline.kis.auth"):
        store.access_token(issue, stale=token.value)
    assert "KIS rejected the access token" in caplog.text and "in 40 s" in caplog.text


class LateWaker:
    """One caller (X) is descheduled past its slot while 18 others send at theirs.

    Everything runs on explicit timestamps: the limiter's clock and sleep are this object's,
    the 18 others take their slots while X sleeps, and every send time goes to the
    simulator's own per-second window, the one that answers EGW00201.
    """

    def __init__(self, shared_file: Path | None, *, late_by: float) -> None:
        self.now = 0.0
        self.late_by = late_by
        self.limiter: LocalRateLimiter | FileRateLimiter = (
            LocalRateLimiter(17.0, clock=lambda: self.now, sleep=self.sleep)
            if shared_file is None
            else FileRateLimiter(shared_file, 17.0, clock=lambda: self.now, sleep=self.sleep)
        )
        self.sends: list[float] = []
        self._x_asleep = False
        self._others_sent = False

    def sleep(self, seconds: float) -> None:
        if self._x_asleep:
            return  # one of the others, asleep in a thread of its own: no time passes for X
        if not self._others_sent:
            self._others_sent = self._x_asleep = True
            for n in range(18):
                self.limiter.acquire()
                # The first of them is a little late too, well within the tolerance.
                self.sends.append(self.limiter.last_slot + (0.005 if n == 0 else 0.0))
            self._x_asleep = False
        self.now += seconds + self.late_by
        self.late_by = 0.0  # late once; on a second slot X wakes on time

    def run(self) -> list[bool]:
        self.limiter.acquire()  # someone sends at t=0, so X's slot lies ahead and X sleeps
        self.sends.append(self.now)
        self.limiter.acquire()  # X
        self.sends.append(self.now)
        server = RestLimiter(18.0)  # real KIS and the simulator allow 18/s
        return [server.arrive("key", now=t) for t in sorted(self.sends)]


@pytest.mark.parametrize("shared", [False, True], ids=["local", "file"])
def test_a_caller_that_wakes_late_gives_its_slot_up_so_kis_never_sees_19_in_a_second(
    shared: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shared_file() -> Path | None:
        return tmp_path / f"{len(list(tmp_path.iterdir()))}.gcra" if shared else None

    # At 17/s, 19 requests span 18/17 s: X sending 70 ms after its slot while the 18 after it
    # keep theirs puts 19 arrivals in one second, which KIS answers with EGW00201.
    monkeypatch.setattr(ratelimit, "MAX_REQUEUES", 0)  # send at the slot, however late
    assert LateWaker(shared_file(), late_by=0.070).run().count(False) == 1
    monkeypatch.undo()
    # Giving the late slot up and queueing again keeps every send within 15 ms of a slot.
    answers = LateWaker(shared_file(), late_by=0.070).run()
    assert len(answers) == 20 and all(answers)
