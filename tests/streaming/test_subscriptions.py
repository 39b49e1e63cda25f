"""The subscription manager: the 41 budget, steady pacing, and what each ack means."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from kis_pipeline.kis.errors import AppKeyInUse
from kis_pipeline.kis.ws import Ack
from kis_pipeline.streaming.backoff import Backoff
from kis_pipeline.streaming.subscriptions import Feed, SubscriptionManager, plan_feeds

SYMBOLS = [f"{n:06d}" for n in range(1, 31)]


def test_the_plan_holds_at_most_41_registrations_symbol_by_symbol() -> None:
    plan = plan_feeds(SYMBOLS, ("H0STCNT0", "H0STASP0"))
    assert len(plan.feeds) == 41 and len(plan.over_budget) == 19
    assert plan.feeds[:4] == (
        Feed("H0STCNT0", "000001"),
        Feed("H0STASP0", "000001"),
        Feed("H0STCNT0", "000002"),
        Feed("H0STASP0", "000002"),
    )
    assert plan.feeds[-1] == Feed("H0STCNT0", "000021")
    assert len(plan.symbols) == 21
    small = plan_feeds(["005930", "005930", "000660"], ("H0STCNT0",))
    assert [f.tr_key for f in small.feeds] == ["005930", "000660"] and not small.over_budget


def _ack(tr_id: str, tr_key: str, msg_cd: str, rt_cd: str = "1") -> Ack:
    return Ack(tr_id, tr_key, False, rt_cd, msg_cd, "msg", key="k" * 32, iv="i" * 16)


class FakeServer:
    """Answers each registration with the next scripted code (OPSP0000 by default)."""

    def __init__(self, manager: SubscriptionManager, codes: dict[str, str]) -> None:
        self.manager = manager
        self.codes = codes
        self.sent: list[tuple[str, str, str]] = []
        self.times: list[float] = []

    async def send(self, text: str) -> None:
        body = json.loads(text)
        tr_id = body["body"]["input"]["tr_id"]
        tr_key = body["body"]["input"]["tr_key"]
        tr_type = body["header"]["tr_type"]
        self.sent.append((tr_type, tr_id, tr_key))
        self.times.append(time.monotonic())
        code = self.codes.get(tr_key, "OPSP0000") if tr_type == "1" else "OPSP0001"
        if code == "silent":
            return
        rt_cd = "0" if code in ("OPSP0000", "OPSP0001") else "1"
        echo_id = "(null)" if code == "OPSP8996" else tr_id
        loop = asyncio.get_running_loop()
        loop.call_soon(self.manager.on_ack, _ack(echo_id, tr_key, code, rt_cd))


def test_acks_decide_what_is_active_reported_or_dropped_for_good() -> None:
    plan = plan_feeds(["000001", "000002", "000003", "000004"], ("H0STCNT0",))
    manager = SubscriptionManager(plan, gap_s=0.0, ack_timeout_s=0.05)
    server = FakeServer(manager, {"000002": "OPSP0002", "000003": "OPSP8993", "000004": "silent"})

    async def scenario() -> None:
        report = await manager.subscribe_all(server.send, "approval")
        assert report.active == 2  # OPSP0000 and the harmless OPSP0002
        assert [p.msg_cd for p in report.problems] == ["OPSP8993", "timeout"]
        # Reconnect: the refused symbol is never sent again, the silent one is retried.
        manager.reset()
        server.sent.clear()
        server.codes["000004"] = "OPSP0000"
        report = await manager.subscribe_all(server.send, "approval")
        assert report.active == 3 and not report.problems
        assert [key for _, _, key in server.sent] == ["000001", "000002", "000004"]
        released = await manager.unsubscribe_all(server.send, "approval")
        assert released == 3 and not manager.active

    asyncio.run(scenario())
    assert Feed("H0STCNT0", "000003") in manager.rejected


def test_the_budget_refusal_stops_subscribing_and_app_key_in_use_is_raised() -> None:
    plan = plan_feeds(["000001", "000002", "000003"], ("H0STCNT0",))
    manager = SubscriptionManager(plan, gap_s=0.0)
    server = FakeServer(manager, {"000002": "OPSP0008"})

    async def limit() -> None:
        report = await manager.subscribe_all(server.send, "approval")
        assert report.active == 1 and [p.msg_cd for p in report.problems] == ["OPSP0008"]
        assert len(server.sent) == 2  # nothing after the refusal

    asyncio.run(limit())
    manager = SubscriptionManager(plan, gap_s=0.0)
    server = FakeServer(manager, {"000001": "OPSP8996"})
    with pytest.raises(AppKeyInUse):
        asyncio.run(manager.subscribe_all(server.send, "approval"))


def test_registrations_are_sent_at_a_steady_pace() -> None:
    plan = plan_feeds(["000001", "000002", "000003", "000004"], ("H0STCNT0",))
    manager = SubscriptionManager(plan, gap_s=0.05)
    server = FakeServer(manager, {})
    asyncio.run(manager.subscribe_all(server.send, "approval"))
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert len(gaps) == 3 and min(gaps) >= 0.045


def test_backoff_doubles_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(1.0, 60.0, rng=lambda: 1.0)
    assert [backoff.next_delay() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    low = Backoff(1.0, 60.0, rng=lambda: 0.0)
    assert [low.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]  # never below half
    backoff.reset()
    assert backoff.next_delay() == 1
