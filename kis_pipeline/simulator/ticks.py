"""Real-time records for the simulator's WebSocket: per-symbol tapes and rates, on the session
clock of `session_clock` and the day plans of `session_plan`.

Tapes. One `SymbolTape` per symbol and session date holds the day's running state (cumulative
volume and value, open/high/low, trade counts) shared by all of the symbol's TRs, so order-book
ACML_VOL matches the trade tape and a reconnecting client sees the same day continue. The day
follows a `SessionPlan`: the market's own bar of that session (`Market.session_bar`), so the
ticks open, peak, bottom and close on the prices the daily history shows once the day
completes (base price = the bar's prev_close; a synthetic plan around the last close when the
market has no bar). Prices move on the KRX grid along a Brownian bridge through those points
by session second, with ±1 tick noise per record inside the day's range; volumes track the
bar's volume along a U-shaped intraday curve (one share per record at the least, so very high
tick rates overshoot it). A tape created mid-session starts from the state the day would have
reached by then. Every H0STCNT0 record adds its CNTG_VOL to ACML_VOL, so per-symbol volumes are
sequence-checkable. Records are built from precomputed string pieces and one %-format each,
which keeps the simulator well above 100k records per second.

Rates. `TickGenerator.generate(dt)` shares `tick_rate` records per second among the active
feeds (tr_id, symbol) by TR weight and returns what is due, which the WebSocket app batches
into multi-record frames.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import random
import zlib
from collections.abc import Iterable

import numpy as np

from kis_pipeline.simulator.overseas_ticks import OVERSEAS_TR, OverseasTape, parse_key
from kis_pipeline.simulator.session_clock import (
    KRX_HOURS,
    NXT_HOURS,
    Hours,
    MarketLike,
    SessionClock,
    exchange_hours,
    hhmmss,
)
from kis_pipeline.simulator.session_plan import (
    SessionPlan,
    level_path,
    price_ladder,
    session_fraction,
    session_plan,
    synthetic_plan,
    volume_profile,
)
from kis_pipeline.simulator.venues import COMBINED, KRX, NXT, nxt_on

_BOOK_VARIANTS = 97  # order-book quantity patterns, cycled (prime so it drifts against prices)
MAX_RECORDS_PER_FRAME = 999  # `count` has three digits
RECENT_EXECUTIONS = 30  # what REST inquire-ccnl answers (SPEC §7.7)

# Share of the tick rate each kind of TR gets relative to trades; operation/VI notices are rare.
_KIND_WEIGHTS: dict[str, float] = {
    "CNT0": 1.0,
    "ASP0": 1.0,
    "ANC0": 0.25,
    "MKO0": 0.05,
    "PGM0": 0.1,
}
# Each kind on KRX (H0ST), Nextrade (H0NX) and the combined market (H0UN), SPEC §15.6.
VENUE_OF_PREFIX: dict[str, str] = {"H0ST": KRX, "H0NX": NXT, "H0UN": COMBINED}
TR_WEIGHTS: dict[str, float] = {
    prefix + kind: weight for prefix in VENUE_OF_PREFIX for kind, weight in _KIND_WEIGHTS.items()
}
TR_WEIGHTS[OVERSEAS_TR] = 1.0
SUPPORTED_TRS: frozenset[str] = frozenset(TR_WEIGHTS)


def venue_of_tr(tr_id: str) -> str:
    """The venue code (`venues`: J, NX, UN) whose tape a TR plays."""
    return VENUE_OF_PREFIX[tr_id[:4]]


# --- per-symbol tape ---------------------------------------------------------------------

# Per-tick patterns shared by every tape (each tape starts at its own offset): price noise in
# grid levels, volume multipliers with mean 1, and the side of unchanged-price ticks.
_PATTERN = random.Random(20240426)
_NOISE = [_PATTERN.choice((-1, 0, 0, 1)) for _ in range(1009)]
_NO_NOISE = [0] * len(_NOISE)
_MULT = [_PATTERN.lognormvariate(-0.5, 1.0) for _ in range(1013)]
_COIN = [_PATTERN.random() < 0.5 for _ in range(1019)]


def _sign(diff: int) -> str:
    return "2" if diff > 0 else "5" if diff < 0 else "3"


class SymbolTape:
    """One symbol's trading day (see the module docstring)."""

    def __init__(
        self,
        plan: SessionPlan,
        *,
        seed: int,
        start_s: float,
        extra_column: bool = False,
        hours: Hours = KRX_HOURS,
        venue: str = KRX,
    ) -> None:
        self.symbol = plan.symbol
        self.session_date = plan.date
        self.hours = hours
        self.venue = venue
        # The tape runs on its venue's clock; KRX's prints shift on a late-opening day.
        self._shift = hours.shift(plan.date)
        self._length = hours.length
        self._profile = volume_profile(hours.length)
        self.plan = plan
        tag = f"{plan.symbol}:{plan.date.isoformat()}" + ("" if venue == KRX else f":{venue}")
        key = zlib.crc32(tag.encode())
        rng = np.random.default_rng([seed & 0xFFFF_FFFF, key])
        ladder = price_ladder(plan.prev_close)

        def level_of(price: int) -> int:
            return min(bisect.bisect_left(ladder, price), len(ladder) - 1)

        self._lo = level_of(plan.low)
        self._hi = max(level_of(plan.high), self._lo)
        self._path = level_path(
            rng, level_of(plan.open), self._hi, self._lo, level_of(plan.close), hours.length
        )
        # String pieces per grid level of the day's range (one below and above for the book).
        self._off = off = max(self._lo - 1, 0)
        levels = range(off, min(self._hi + 2, len(ladder)))
        prev, top = plan.prev_close, len(ladder) - 1
        upper, lower = ladder[-1], ladder[0]
        self._ladder = ladder
        self._px: list[str] = []
        self._book_buy: list[str] = []
        self._book_sell: list[str] = []
        self._open_vs: list[str] = []
        for lv in levels:
            price = ladder[lv]
            diff = price - prev
            sign = "1" if price == upper else "4" if price == lower else _sign(diff)
            self._px.append(f"{price}^{sign}^{diff}^{diff * 100 / prev:.2f}")
            self._book_buy.append(f"{price}^{ladder[max(lv - 1, 0)]}")
            self._book_sell.append(f"{ladder[min(lv + 1, top)]}^{price}")
            self._open_vs.append(f"{_sign(price - plan.open)}^{price - plan.open}")
        mean_qty = max(1.0, plan.volume / 20_000) * 20
        self._rsqn = []
        self._asp_qty = []
        for _ in range(_BOOK_VARIANTS):
            asks = [int(rng.exponential(mean_qty)) + 1 for _ in range(10)]
            bids = [int(rng.exponential(mean_qty)) + 1 for _ in range(10)]
            total_ask, total_bid = sum(asks), sum(bids)
            self._rsqn.append(f"{asks[0]}^{bids[0]}^{total_ask}^{total_bid}")
            self._asp_qty.append(
                (
                    "^".join(map(str, asks + bids))
                    + f"^{total_ask}^{total_bid}^0^0^0^0^0^0^3^0.00",
                    f"{int(rng.integers(-500, 501))}^{int(rng.integers(-500, 501))}^0^0^0",
                )
            )
        self._asp_prices: dict[int, str] = {}
        tail = "^0" if extra_column else ""
        # Nextrade's and the combined book add six mid-price fields (none resting here), their
        # expected executions VI_STND_PRC (SPEC §15.7).
        mid, anc_vi = ("", "") if venue == KRX else ("^0^0^0^0^0^0", f"^{prev}")
        day = plan.date.strftime("%Y%m%d")
        sym = plan.symbol
        # H0STCNT0, 46 fields; %-slots are the values that change per record.
        self._cnt_fmt = (
            f"{sym}^%s^%s^%.2f^{plan.open}^%d^%d^%s^%d^%d^%d^%d^%d^%d^%.2f^%d^%d^%s^%.2f^%.2f"
            f"^%s^%s^%s^%s^%d^%s^%s^%d^{day}^20^N^%s^%.2f^%d^%.2f^0^^{prev}{tail}"
        )
        # H0STANC0, 45 fields: the expected execution at the current state (hour class C).
        self._anc_fmt = (
            f"{sym}^%s^%s^%.2f^{plan.open}^%d^%d^%s^%d^%d^%d^%d^%d^%d^%.2f^%d^%d^%s^%.2f^%.2f"
            f"^%s^%s^%s^%s^%d^%s^%s^%d^{day}^20^N^%s^%.2f^%d^%.2f^C^{anc_vi}{tail}"
        )
        self._asp_fmt = f"{sym}^%s^0^%s^%s^%d^%s{mid}{tail}"
        self._mko_fmt = f"{sym}^N^(null)^%s^^^^00^%s^N^{tail}"
        # H0STPGM0, 11 fields: program trading so far today, a share of the day's volume that
        # differs per symbol and side (arbitrage desks and index funds lean one way).
        self._pgm_fmt = f"{sym}^%s^%d^%d^%d^%d^%d^%d^%s"
        self._pgm_share = (0.04 + 0.12 * rng.random(), 0.04 + 0.12 * rng.random())
        self._mko_n = 0
        self._k = key % 997  # offset into the shared per-tick patterns
        self._book_n = 0
        # The newest H0STCNT0 records, for REST's "last 30 executions" (rest_ticks.py).
        self.recent: collections.deque[str] = collections.deque(maxlen=RECENT_EXECUTIONS)
        self.executions = 0  # H0STCNT0 records made today, sent to anyone or not
        self._start(start_s)

    def _start(self, start_s: float) -> None:
        """State as if the day had traded from the open to `start_s` (a late joiner's view)."""
        plan = self.plan
        second = self._second(start_s)
        done = self._path[: second + 1]
        ladder = self._ladder
        prices = np.asarray(ladder, dtype=np.float64)[done]
        traded = np.diff(self._profile[: second + 2]) * plan.volume
        self.acml_vol = int(traded.sum()) if second else 0
        self.acml_value = int((traded * prices).sum()) if second else 0
        trades = self.acml_vol // max(1, int(plan.volume / 20_000)) if second else 0
        self.buy_count = trades // 2
        self.sell_count = trades - self.buy_count
        self.buy_qty = self.acml_vol // 2
        self.sell_qty = self.acml_vol - self.buy_qty
        self.open_hour = self._hour(0)
        self.high = ladder[int(done.max())] if second else plan.open
        self.low = ladder[int(done.min())] if second else plan.open
        self.high_hour = self._hour(int(done.argmax())) if second else ""
        self.low_hour = self._hour(int(done.argmin())) if second else ""
        self.level = int(done[-1])

    def _second(self, seconds: float) -> int:
        """The session's second (0 = the open) at `seconds` after midnight on its clock."""
        return min(max(int(seconds) - self.hours.open_s, 0), self._length - 1)

    def _hour(self, second: int) -> str:
        """HHMMSS of the session's `second` (0 = the open)."""
        return hhmmss(self.hours.open_s + self._shift + second)

    def trades(self, n: int, seconds: float) -> list[str]:
        """The next `n` H0STCNT0 records at `seconds` after midnight (KST)."""
        plan = self.plan
        second = self._second(seconds)
        hour = self._hour(second)
        if not self.high_hour:
            self.high_hour = self.low_hour = hour
        base = int(self._path[second])
        # Track the day's cumulative volume curve; one share per tick at the least.
        want = plan.volume * session_fraction(seconds, self.hours) - self.acml_vol
        mean = want / n if want > n else 1.0
        # The day opens and closes exactly on the plan's prices.
        noise = _NO_NOISE if second == 0 or second >= self._length - 10 else _NOISE
        n_noise, n_mult, n_coin = len(_NOISE), len(_MULT), len(_COIN)
        lo, hi, off = self._lo, self._hi, self._off
        ladder, px, buy_book, sell_book, open_vs, rsqn = (
            self._ladder,
            self._px,
            self._book_buy,
            self._book_sell,
            self._open_vs,
            self._rsqn,
        )
        prev_volume = plan.prev_volume
        prdy_smns = max(1, int(prev_volume * session_fraction(seconds, self.hours)))
        shares = plan.listed_shares
        fmt = self._cnt_fmt
        k, level = self._k, self.level
        acml_vol, acml_value = self.acml_vol, self.acml_value
        sell_count, buy_count, sell_qty, buy_qty = (
            self.sell_count,
            self.buy_count,
            self.sell_qty,
            self.buy_qty,
        )
        high, low, high_hour, low_hour = self.high, self.low, self.high_hour, self.low_hour
        open_hour = self.open_hour
        out = []
        append = out.append
        for _ in range(n):
            k += 1
            lv = base + noise[k % n_noise]
            lv = hi if lv > hi else lo if lv < lo else lv
            price = ladder[lv]
            vol = int(mean * _MULT[k % n_mult]) or 1
            acml_vol += vol
            acml_value += price * vol
            if lv > level or (lv == level and _COIN[k % n_coin]):
                buy_count += 1
                buy_qty += vol
                side, book = "1", buy_book
            else:
                sell_count += 1
                sell_qty += vol
                side, book = "5", sell_book
            level = lv
            if price > high:
                high, high_hour = price, hour
            elif price < low:
                low, low_hour = price, hour
            i = lv - off
            append(
                fmt
                % (
                    hour,
                    px[i],
                    acml_value / acml_vol,
                    high,
                    low,
                    book[i],
                    vol,
                    acml_vol,
                    acml_value,
                    sell_count,
                    buy_count,
                    buy_count - sell_count,
                    buy_qty * 100 / sell_qty if sell_qty else 0.0,
                    sell_qty,
                    buy_qty,
                    side,
                    buy_qty * 100 / acml_vol,
                    acml_vol * 100 / prev_volume,
                    open_hour,
                    open_vs[i],
                    high_hour,
                    "5" if price < high else "3",
                    price - high,
                    low_hour,
                    "2" if price > low else "3",
                    price - low,
                    rsqn[k % _BOOK_VARIANTS],
                    acml_vol * 100 / shares,
                    prdy_smns,
                    acml_vol * 100 / prdy_smns,
                )
            )
        self._k, self.level = k, level
        self.acml_vol, self.acml_value = acml_vol, acml_value
        self.sell_count, self.buy_count, self.sell_qty, self.buy_qty = (
            sell_count,
            buy_count,
            sell_qty,
            buy_qty,
        )
        self.high, self.low, self.high_hour, self.low_hour = high, low, high_hour, low_hour
        self.recent.extend(out[-RECENT_EXECUTIONS:])
        self.executions += n
        return out

    def _asp_prices_at(self, level: int) -> str:
        chunk = self._asp_prices.get(level)
        if chunk is None:
            ladder, top = self._ladder, len(self._ladder) - 1
            asks = [ladder[level + k] if level + k <= top else 0 for k in range(1, 11)]
            bids = [ladder[level - k] if level - k >= 0 else 0 for k in range(10)]
            chunk = self._asp_prices[level] = "^".join(map(str, asks + bids))
        return chunk

    def quotes(self, n: int, seconds: float) -> list[str]:
        """`n` H0STASP0 records around the last trade (the book moves with the trade tape)."""
        hour = hhmmss(int(seconds) + self._shift)
        prices = self._asp_prices_at(self.level)
        fmt, variants, acml = self._asp_fmt, self._asp_qty, self.acml_vol
        out = []
        k = self._book_n
        for _ in range(n):
            qty, icdc = variants[k % _BOOK_VARIANTS]
            k += 1
            out.append(fmt % (hour, prices, qty, acml, icdc))
        self._book_n = k
        return out

    def expected(self, n: int, seconds: float) -> list[str]:
        """`n` H0STANC0 records: the expected execution at the current state."""
        hour = hhmmss(int(seconds) + self._shift)
        plan = self.plan
        i = self.level - self._off
        price = self._ladder[self.level]
        acml_vol = max(self.acml_vol, 1)
        sell_qty = self.sell_qty
        record = self._anc_fmt % (
            hour,
            self._px[i],
            self.acml_value / acml_vol,
            self.high,
            self.low,
            self._book_buy[i],
            max(1, int(plan.volume / 20_000)),
            self.acml_vol,
            self.acml_value,
            self.sell_count,
            self.buy_count,
            self.buy_count - self.sell_count,
            self.buy_qty * 100 / sell_qty if sell_qty else 0.0,
            sell_qty,
            self.buy_qty,
            "1",
            self.buy_qty * 100 / acml_vol,
            self.acml_vol * 100 / plan.prev_volume,
            self.open_hour,
            self._open_vs[i],
            self.high_hour or hour,
            "5" if price < self.high else "3",
            price - self.high,
            self.low_hour or hour,
            "2" if price > self.low else "3",
            price - self.low,
            self._rsqn[self._book_n % _BOOK_VARIANTS],
            self.acml_vol * 100 / plan.listed_shares,
            plan.prev_volume,
            self.acml_vol * 100 / plan.prev_volume,
        )
        return [record] * n

    def status(self, n: int, seconds: float) -> list[str]:
        """`n` H0STMKO0 records: market open (112), VI alternately applied and released."""
        out = []
        for _ in range(n):
            self._mko_n += 1
            out.append(self._mko_fmt % ("112", "Y" if self._mko_n % 2 else "N"))
        return out

    def program(self, n: int, seconds: float) -> list[str]:
        """`n` H0STPGM0 records: the day's program sells and buys so far, their net, and the
        resting quantities of the current book (the net resting bid last)."""
        hour = hhmmss(int(seconds) + self._shift)
        sell_share, buy_share = self._pgm_share
        sold, bought = int(self.acml_vol * sell_share), int(self.acml_vol * buy_share)
        price = self.acml_value / self.acml_vol if self.acml_vol else self.plan.open
        sold_value, bought_value = round(sold * price), round(bought * price)
        ask, bid = self._rsqn[self._book_n % _BOOK_VARIANTS].split("^")[:2]
        book = f"{ask}^{bid}^{int(bid) - int(ask)}"
        record = self._pgm_fmt % (
            hour,
            sold,
            sold_value,
            bought,
            bought_value,
            bought - sold,
            bought_value - sold_value,
            book,
        )
        return [record] * n

    def records(self, tr_id: str, n: int, seconds: float) -> list[str]:
        """`n` records of `tr_id` (any venue's: the tape is its venue's) at `seconds`."""
        kind = tr_id[4:]
        if tr_id not in SUPPORTED_TRS:
            raise ValueError(f"no records for {tr_id}")
        if kind == "CNT0":
            return self.trades(n, seconds)
        if kind == "ASP0":
            return self.quotes(n, seconds)
        if kind == "ANC0":
            return self.expected(n, seconds)
        if kind == "MKO0":
            return self.status(n, seconds)
        return self.program(n, seconds)


def build_frames(tr_id: str, records: list[str]) -> list[tuple[str, int]]:
    """Data frames (text, record count) for records of one TR, at most 999 per frame."""
    frames = []
    for start in range(0, len(records), MAX_RECORDS_PER_FRAME):
        chunk = records[start : start + MAX_RECORDS_PER_FRAME]
        frames.append((f"0|{tr_id}|{len(chunk):03d}|" + "^".join(chunk), len(chunk)))
    return frames


# --- generator ---------------------------------------------------------------------------


class TickGenerator:
    """Tapes of one simulator and the schedule that shares `tick_rate` among active feeds."""

    def __init__(
        self,
        market: MarketLike,
        tick_rate: float,
        *,
        extra_column: bool = False,
        clock: SessionClock | None = None,
        max_burst_s: float = 0.25,
    ) -> None:
        self.market = market
        self.tick_rate = tick_rate
        self.extra_column = extra_column
        self.clock = clock or SessionClock(market)
        self._seed = int(getattr(market.config, "seed", 0))
        self._max_burst_s = max_burst_s
        self._symbols: set[str] | None = None
        self._tapes: dict[tuple[str, str], SymbolTape] = {}
        self._overseas: dict[str, OverseasTape] = {}
        self._credit: dict[tuple[str, str], float] = {}

    def is_key(self, tr_id: str, tr_key: str) -> bool:
        """Whether `tr_key` names something `tr_id` streams: a listed symbol, or for
        HDFSCNT0 a listed overseas ticker's `D`/`R` + exchange + ticker."""
        if tr_id == OVERSEAS_TR:
            return parse_key(tr_key) is not None
        return self.is_symbol(tr_key)

    def overseas_tape(self, tr_key: str, day: dt.date) -> OverseasTape | None:
        """The overseas feed's tape of the local `day` (None off the ticker's history)."""
        tape = self._overseas.get(tr_key)
        if tape is not None and tape.session_date == day:
            return tape
        excd, ticker = parse_key(tr_key) or ("", "")
        bar = self.market.overseas_session_bar(excd, ticker, day)  # type: ignore[attr-defined]
        if bar is None:
            return None
        tape = self._overseas[tr_key] = OverseasTape(tr_key, bar, seed=self._seed)
        return tape

    def is_symbol(self, symbol: str) -> bool:
        if self._symbols is None:
            listings = getattr(self.market, "listings", None)
            if listings is not None:
                self._symbols = {listing.symbol for listing in listings}
            else:
                return self.market.listing(symbol) is not None
        return symbol in self._symbols

    @property
    def feeds(self) -> Iterable[tuple[str, str]]:
        return self._credit.keys()

    def add_feed(self, tr_id: str, symbol: str) -> None:
        # A fresh feed is due at once, so a new subscriber sees data without a full period.
        self._credit.setdefault((tr_id, symbol), 0.999)

    def remove_feed(self, tr_id: str, symbol: str) -> None:
        self._credit.pop((tr_id, symbol), None)

    def hours(self, symbol: str, venue: str = KRX) -> Hours:
        """The hours `venue`'s tape of `symbol` plays: Nextrade's where it trades the name."""
        if venue == KRX:
            return KRX_HOURS
        listing = self.market.listing(symbol)
        today = self.clock.wall().date()
        return NXT_HOURS if listing is not None and nxt_on(listing, today) else KRX_HOURS

    def tape(
        self, symbol: str, session_date: dt.date, seconds: float, venue: str = KRX
    ) -> SymbolTape | None:
        """The symbol's tape on `venue` for the session, created as of `seconds` on first use
        (a new session starts it afresh); None where the venue does not trade the symbol."""
        key = (venue, symbol)
        tape = self._tapes.get(key)
        if tape is not None and tape.session_date == session_date:
            return tape
        last = self.clock.last_completed()
        plan = session_plan(self.market, symbol, session_date, last, seed=self._seed, venue=venue)
        if plan is None:
            if venue != KRX and self.market.listing(symbol) is not None:
                return None  # listed, but not on Nextrade: its NX feeds stay silent
            # Not listed: feeds are only accepted for listed symbols.
            plan = synthetic_plan(
                symbol, session_date, 10_000, 100_000, 10_000_000, seed=self._seed
            )
        tape = SymbolTape(
            plan,
            seed=self._seed,
            start_s=seconds,
            extra_column=self.extra_column,
            hours=self.hours(symbol, venue),
            venue=venue,
        )
        self._tapes[key] = tape
        return tape

    def recent_executions(self, symbol: str, venue: str = KRX) -> list[str]:
        """The symbol's newest trade records of the session on `venue`, oldest first. A tape
        nobody has streamed yet starts with the trades of its first second, as if they had
        just happened: the market trades whether or not anyone watches."""
        session_date, seconds = self.clock.now(self.hours(symbol, venue))
        tape = self.tape(symbol, session_date, seconds, venue)
        if tape is None:
            return []
        if not tape.recent:
            tape.trades(RECENT_EXECUTIONS, seconds)
        return list(tape.recent)

    def executions(self, venue: str = KRX) -> dict[str, int]:
        """Trades each symbol's tape on `venue` made this session (whoever they were sent to)."""
        return {
            symbol: tape.executions
            for (on, symbol), tape in sorted(self._tapes.items())
            if on == venue
        }

    def generate(self, elapsed_s: float) -> list[tuple[str, str, list[str]]]:
        """Records due after `elapsed_s` seconds: (tr_id, symbol, records) per due feed. A feed
        whose venue is in a break (Nextrade's) or does not trade the symbol sends nothing."""
        if not self._credit or self.tick_rate <= 0:
            return []
        total_weight = sum(TR_WEIGHTS.get(tr, 1.0) for tr, _ in self._credit)
        per_weight = self.tick_rate / total_weight
        elapsed_s = min(elapsed_s, self._max_burst_s)
        now: dict[Hours, tuple[dt.date, float]] = {}
        due = []
        for feed, credit in self._credit.items():
            credit += per_weight * TR_WEIGHTS.get(feed[0], 1.0) * elapsed_s
            n = int(credit)
            self._credit[feed] = credit - n
            if not n:
                continue
            tr_id, symbol = feed
            overseas = tr_id == OVERSEAS_TR
            venue = "" if overseas else venue_of_tr(tr_id)
            # An overseas feed plays its exchange's local day, a domestic one its venue's.
            hours = exchange_hours(symbol[1:4]) if overseas else self.hours(symbol, venue)
            if hours not in now:
                now[hours] = self.clock.now(hours)
            session_date, seconds = now[hours]
            if not hours.trading(seconds):
                continue
            if overseas:
                abroad = self.overseas_tape(symbol, session_date)
                if abroad is not None:
                    due.append((tr_id, symbol, abroad.records(n, seconds)))
                continue
            tape = self.tape(symbol, session_date, seconds, venue)
            if tape is not None:
                due.append((tr_id, symbol, tape.records(tr_id, n, seconds)))
        return due
