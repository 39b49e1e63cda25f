"""The subscription manager: which (tr_id, tr_key) pairs to hold, and holding them.

KIS counts every (tr_id, tr_key) registration of a session against one budget of 41 (SPEC §5,
§15.8). `plan_feeds` turns symbols and TRs into the desired set within that budget, symbol by
symbol in priority order (the first 20 symbols get trades and order book, the 21st its trades).

On each (re)connection `subscribe_all` sends the whole set one message at a time at a steady
pace and reads each ack before the next message:
- OPSP0000 (and OPSP0002 "already subscribed", harmless) -> active;
- OPSP0008 (over the budget) -> reported, and nothing more is sent this session;
- OPSP8996 (app key in use) and invalid approval keys -> raised: the session cannot go on;
- any other refusal (unknown symbol, bad TR) -> reported and dropped from the desired set for
  good, because sending it again on every reconnect would be the subscribe loop KIS blocks;
- no ack in time -> reported; retried on the next connection only.
Acks arrive through the collector's receive loop, which calls `on_ack`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kis_pipeline.kis.errors import (
    AppKeyInUse,
    ApprovalKeyRejected,
    KisApiError,
    SubscriptionLimit,
)
from kis_pipeline.kis.ws import Ack, subscribe_message, unsubscribe_message

log = logging.getLogger(__name__)

TRADES = "H0STCNT0"
ORDERBOOK = "H0STASP0"
EXPECTED = "H0STANC0"
STATUS = "H0STMKO0"
PROGRAM = "H0STPGM0"
OVERSEAS_TRADES = "HDFSCNT0"  # delayed overseas trades, keyed by `overseas_key`
DEFAULT_TRS: tuple[str, ...] = (TRADES, ORDERBOOK)
# The feeds by the names people choose them with (`kis-pipeline stream --feeds`).
FEEDS: dict[str, str] = {
    "trades": TRADES,
    "quotes": ORDERBOOK,
    "expected": EXPECTED,
    "market_status": STATUS,
    "program": PROGRAM,
}
MAX_REGISTRATIONS = 41
ALREADY_SUBSCRIBED = "OPSP0002"
_NO_TR = ("", "(null)")

Send = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, order=True)
class Feed:
    tr_id: str
    tr_key: str

    def __str__(self) -> str:
        return f"{self.tr_id}/{self.tr_key}"


@dataclass(frozen=True)
class FeedPlan:
    feeds: tuple[Feed, ...]
    over_budget: tuple[Feed, ...] = ()

    @property
    def symbols(self) -> list[str]:
        return list(dict.fromkeys(f.tr_key for f in self.feeds))


def plan_feeds(
    symbols: Iterable[str],
    trs: Sequence[str] = DEFAULT_TRS,
    *,
    budget: int = MAX_REGISTRATIONS,
    overseas: Iterable[tuple[str, str]] = (),
) -> FeedPlan:
    """The desired feeds, cut at `budget` registrations: the `overseas` (exchange, ticker)
    pairs' delayed trades first (asked for by name), then the symbols' TRs, symbol-major in the
    given order."""
    wanted = [Feed(OVERSEAS_TRADES, overseas_key(*pair)) for pair in dict.fromkeys(overseas)]
    wanted += [Feed(tr, symbol) for symbol in dict.fromkeys(symbols) for tr in dict.fromkeys(trs)]
    return FeedPlan(tuple(wanted[:budget]), tuple(wanted[budget:]))


def overseas_key(exchange: str, ticker: str) -> str:
    """The free delayed feed's key of an overseas ticker (SPEC §15.7.9): `DNASAAPL`."""
    return f"D{exchange}{ticker}"


@dataclass(frozen=True)
class AckProblem:
    feed: Feed
    msg_cd: str
    message: str

    def __str__(self) -> str:
        return f"{self.feed}: {self.msg_cd} {self.message}".strip()


@dataclass
class SubscribeReport:
    active: int
    problems: list[AckProblem] = field(default_factory=list)


class SubscriptionManager:
    """Holds the desired set across reconnects; see the module docstring."""

    def __init__(
        self,
        plan: FeedPlan,
        *,
        gap_s: float = 0.05,
        ack_timeout_s: float = 10.0,
        custtype: str = "P",
    ) -> None:
        self.desired: list[Feed] = list(plan.feeds)
        self.over_budget = list(plan.over_budget)
        self.gap_s = gap_s
        self.ack_timeout_s = ack_timeout_s
        self.custtype = custtype
        self.active: set[Feed] = set()
        self.rejected: dict[Feed, AckProblem] = {}
        self.problems: list[AckProblem] = []  # every refusal reported, all sessions
        # AES key and iv per TR from the latest ack (only encrypted TRs need them).
        self.keys: dict[str, tuple[str, str]] = {}
        self._pending: tuple[Feed, asyncio.Future[Ack]] | None = None
        # A refusal that ends the session (OPSP8996, a bad approval key), seen on any ack.
        self.fatal: KisApiError | None = None

    def reset(self) -> None:
        """A new connection: KIS forgot every registration of the old one."""
        self.active.clear()
        self.keys.clear()
        self.fatal = None
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].cancel()
        self._pending = None

    # -- acks (called by the receive loop) ----------------------------------------------------

    def on_ack(self, ack: Ack) -> None:
        # Kept at once: the TR's first encrypted frame may follow its ack immediately.
        if ack.ok and ack.key and ack.iv and ack.tr_id not in _NO_TR:
            self.keys[ack.tr_id] = (ack.key, ack.iv)
        if not ack.ok:
            error = ack.error()
            if isinstance(error, AppKeyInUse | ApprovalKeyRejected):
                self.fatal = error
        pending = self._pending
        if pending is None or pending[1].done():
            if not ack.ok:
                log.warning("unexpected KIS WebSocket reply %s %s", ack.msg_cd, ack.msg1)
            return
        feed, future = pending
        if ack.tr_id not in _NO_TR and ack.tr_id != feed.tr_id:
            log.warning("ack for %s/%s while waiting for %s", ack.tr_id, ack.tr_key, feed)
            return
        if ack.tr_key and ack.tr_id not in _NO_TR and ack.tr_key != feed.tr_key:
            log.warning("ack for %s/%s while waiting for %s", ack.tr_id, ack.tr_key, feed)
            return
        future.set_result(ack)

    async def _request(self, send: Send, text: str, feed: Feed) -> Ack | None:
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        self._pending = (feed, future)
        try:
            await send(text)
            return await asyncio.wait_for(future, self.ack_timeout_s)
        except TimeoutError:
            return None
        finally:
            self._pending = None

    # -- subscribing --------------------------------------------------------------------------

    async def subscribe_all(self, send: Send, approval_key: str) -> SubscribeReport:
        """Register every desired feed not yet active, one at a time; see the module docstring."""
        report = SubscribeReport(active=0)
        for index, feed in enumerate(list(self.desired)):
            if feed in self.active or feed in self.rejected:
                continue
            if index and self.gap_s > 0:
                await asyncio.sleep(self.gap_s)
            text = subscribe_message(approval_key, feed.tr_id, feed.tr_key, custtype=self.custtype)
            ack = await self._request(send, text, feed)
            if ack is None:
                self._report(report, AckProblem(feed, "timeout", "no ack in time"))
                continue
            if ack.ok or ack.msg_cd == ALREADY_SUBSCRIBED:
                self.active.add(feed)
                continue
            error = ack.error()
            if isinstance(error, AppKeyInUse | ApprovalKeyRejected):
                raise error
            problem = AckProblem(feed, ack.msg_cd, ack.msg1)
            self._report(report, problem)
            if isinstance(error, SubscriptionLimit):
                break
            self.rejected[feed] = problem
            self.desired.remove(feed)
        report.active = len(self.active)
        return report

    def _report(self, report: SubscribeReport, problem: AckProblem) -> None:
        log.warning("subscription refused: %s", problem)
        report.problems.append(problem)
        self.problems.append(problem)

    async def unsubscribe_all(self, send: Send, approval_key: str) -> int:
        """Release every active feed (graceful stop), waiting for each ack; returns releases."""
        released = 0
        for index, feed in enumerate(sorted(self.active)):
            if index and self.gap_s > 0:
                await asyncio.sleep(self.gap_s)
            text = unsubscribe_message(
                approval_key, feed.tr_id, feed.tr_key, custtype=self.custtype
            )
            ack = await self._request(send, text, feed)
            if ack is not None and (ack.ok or ack.is_unsubscribe):
                released += 1
                self.active.discard(feed)
            elif ack is not None:
                log.warning("unsubscribe of %s refused: %s %s", feed, ack.msg_cd, ack.msg1)
        return released
