"""The simulated listed universe: real large caps first, then synthetic names; the schedule of
splits, bonus issues and capital reductions.

The universe (codes, names, markets, share counts) depends only on its size, never on the
seed, so that symbol lists stay valid across seeds; prices and flows depend on the seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from kis_pipeline.simulator.config import MAX_UNIVERSE

# code, name, market, listed shares (today), par value (today), real list date, sector,
# price level (today's share basis) at the start of the history.
_LARGE_CAPS: tuple[tuple[str, str, str, int, int, str, str, int], ...] = (
    ("005930", "삼성전자", "KOSPI", 5_969_782_550, 100, "1975-06-11", "전기·전자", 26_500),
    ("000660", "SK하이닉스", "KOSPI", 728_002_365, 5_000, "1996-12-26", "전기·전자", 47_000),
    ("373220", "LG에너지솔루션", "KOSPI", 234_000_000, 500, "2022-01-27", "전기·전자", 380_000),
    ("207940", "삼성바이오로직스", "KOSPI", 71_174_000, 2_500, "2016-11-10", "의약품", 150_000),
    ("005380", "현대차", "KOSPI", 209_416_191, 5_000, "1974-06-28", "운수장비", 170_000),
    ("000270", "기아", "KOSPI", 397_672_632, 5_000, "1973-07-21", "운수장비", 52_000),
    ("068270", "셀트리온", "KOSPI", 216_890_000, 1_000, "2008-08-29", "의약품", 60_000),
    ("035420", "NAVER", "KOSPI", 158_437_008, 100, "2008-11-28", "서비스업", 140_000),
    ("005490", "POSCO홀딩스", "KOSPI", 84_571_230, 5_000, "1988-06-10", "철강금속", 260_000),
    ("035720", "카카오", "KOSPI", 445_000_000, 100, "2017-07-10", "서비스업", 25_000),
    ("051910", "LG화학", "KOSPI", 70_592_343, 5_000, "2001-04-25", "화학", 250_000),
    ("006400", "삼성SDI", "KOSPI", 68_764_530, 5_000, "1979-02-27", "전기·전자", 120_000),
    ("105560", "KB금융", "KOSPI", 403_511_072, 5_000, "2008-10-10", "금융업", 40_000),
    ("055550", "신한지주", "KOSPI", 509_287_517, 5_000, "2001-09-10", "금융업", 42_000),
    ("012330", "현대모비스", "KOSPI", 94_129_069, 5_000, "1989-11-25", "운수장비", 230_000),
    ("028260", "삼성물산", "KOSPI", 169_976_544, 100, "2014-12-18", "유통업", 150_000),
    ("066570", "LG전자", "KOSPI", 163_647_814, 5_000, "2002-04-22", "전기·전자", 62_000),
    ("003550", "LG", "KOSPI", 157_324_724, 5_000, "1970-02-13", "서비스업", 65_000),
    ("015760", "한국전력", "KOSPI", 641_964_077, 5_000, "1989-08-10", "전기가스업", 45_000),
    ("017670", "SK텔레콤", "KOSPI", 214_790_053, 100, "1989-11-07", "통신업", 45_000),
    ("034730", "SK", "KOSPI", 73_100_000, 200, "2009-11-11", "서비스업", 230_000),
    ("032830", "삼성생명", "KOSPI", 200_000_000, 500, "2010-05-12", "보험", 100_000),
    ("086790", "하나금융지주", "KOSPI", 292_356_598, 5_000, "2005-12-12", "금융업", 31_000),
    ("000810", "삼성화재", "KOSPI", 47_374_837, 500, "1989-06-27", "보험", 260_000),
    ("010130", "고려아연", "KOSPI", 20_703_283, 5_000, "1990-07-24", "철강금속", 420_000),
    ("009150", "삼성전기", "KOSPI", 74_693_696, 5_000, "1979-02-27", "전기·전자", 60_000),
    ("018260", "삼성에스디에스", "KOSPI", 77_377_800, 500, "2014-11-14", "서비스업", 250_000),
    ("033780", "KT&G", "KOSPI", 137_292_497, 5_000, "1999-10-08", "음식료품", 85_000),
    ("011200", "HMM", "KOSPI", 977_180_996, 5_000, "1995-09-26", "운수창고업", 8_000),
    ("247540", "에코프로비엠", "KOSDAQ", 97_801_344, 500, "2019-03-05", "전기·전자", 80_000),
    ("091990", "셀트리온헬스케어", "KOSDAQ", 151_210_000, 1_000, "2017-07-28", "유통업", 50_000),
    ("293490", "카카오게임즈", "KOSDAQ", 82_453_000, 100, "2020-09-10", "서비스업", 30_000),
)

# (symbol or universe position, planned date, new shares per old). Real splits use real
# dates; synthetic ones sit on fixed universe positions so every universe of that size has them.
_REAL_SPLITS: tuple[tuple[str, str, int], ...] = (
    ("005930", "2018-05-04", 50),
    ("035420", "2018-10-12", 5),
    ("035720", "2021-04-15", 5),
)
_SYNTHETIC_SPLITS: tuple[tuple[int, str, int], ...] = (
    (40, "2020-06-15", 10),
    (47, "2023-09-11", 5),
    (300, "2016-08-22", 10),
    (1_200, "2022-03-14", 5),
)
# (universe position, planned ex date, new shares per 100 old): bonus issues (무상증자), on
# names no test pins, so that adding them moved no figure a test expects.
_SYNTHETIC_BONUS_ISSUES: tuple[tuple[int, str, int], ...] = (
    (44, "2025-04-15", 100),
    (46, "2026-02-10", 50),
)
BONUS_ISSUE = "bonus_issue"
# (universe position, planned relisting day, shares kept per old share): capital reductions
# (감자) by share consolidation, on a name no test pins; the relisting day is the first
# session at the new share basis.
_SYNTHETIC_CAPITAL_REDUCTIONS: tuple[tuple[int, str, float], ...] = ((45, "2025-09-22", 0.1),)
CAPITAL_REDUCTION = "capital_reduction"
# (universe position, planned ex-rights day, new shares per 100 old, discount %): rights
# issues (유상증자) to shareholders, the new shares priced at the discount to the cum-rights
# close; on a name no test pins.
_SYNTHETIC_RIGHTS_ISSUES: tuple[tuple[int, str, int, int], ...] = ((43, "2025-06-17", 30, 20),)
RIGHTS_ISSUE = "rights_issue"
# (universe position, planned listing day of the new shares, merger ratio, the absorbed
# company's shares): a listed name absorbing an unlisted company (흡수합병), its holders paid
# `ratio` new shares each; the price basis stays, only the share count grows.
_SYNTHETIC_MERGERS: tuple[tuple[int, str, float, int], ...] = ((42, "2025-11-03", 0.4, 9_000_000),)
MERGER = "merger"

_PREFIXES = (
    "대한",
    "한국",
    "동양",
    "세진",
    "미래",
    "신성",
    "우리",
    "태평",
    "한솔",
    "대성",
    "삼화",
    "동원",
    "유진",
    "서울",
    "부산",
    "금강",
    "한빛",
    "청운",
    "새한",
    "광명",
    "동성",
    "일진",
    "성우",
    "대원",
    "경동",
    "화신",
    "영풍",
    "백산",
    "한일",
    "국제",
    "태양",
    "보성",
    "진흥",
    "신라",
    "고려",
    "중앙",
    "남해",
    "동해",
    "서해",
    "제일",
    "삼정",
    "한라",
    "두산",
    "효성",
    "대림",
    "은성",
    "푸른",
    "하늘",
    "에이스",
    "코리아",
)
_SUFFIXES = (
    "전자",
    "화학",
    "제약",
    "바이오",
    "산업",
    "건설",
    "기계",
    "물산",
    "정밀",
    "테크",
    "소재",
    "에너지",
    "통신",
    "식품",
    "홀딩스",
    "금속",
    "반도체",
    "디스플레이",
    "로직스",
    "솔루션",
    "시스템",
    "엔지니어링",
    "중공업",
    "제지",
    "섬유",
    "유통",
    "게임즈",
    "미디어",
    "메디칼",
    "케미칼",
    "전선",
    "광학",
    "에스티",
    "이앤씨",
    "인터내셔널",
    "네트웍스",
    "모터스",
    "팜",
    "랩스",
    "헬스케어",
    "머티리얼즈",
    "파워",
    "오토텍",
    "플랜트",
    "글로벌",
    "해운",
    "증권",
    "캐피탈",
    "생명과학",
    "엔터테인먼트",
    "씨앤에스",
    "피앤씨",
    "아이엔씨",
    "에이아이",
)
_SECTORS = (
    "전기·전자",
    "화학",
    "의약품",
    "운수장비",
    "서비스업",
    "금융업",
    "철강금속",
    "유통업",
    "건설업",
    "음식료품",
    "기계",
    "통신업",
    "섬유의복",
    "종이목재",
    "비금속광물",
    "전기가스업",
    "운수창고업",
    "의료정밀",
    "보험",
    "증권",
)
_UNIVERSE_SEED = 20_150_102
# The real large caps, which KIS Research and most brokers cover.
LARGE_CAP_SYMBOLS = frozenset(code for code, *_ in _LARGE_CAPS)


@dataclass(frozen=True)
class SymbolSpec:
    """Static description of one symbol before any clock or seed is applied."""

    symbol: str
    name: str
    market: str
    final_shares: int  # shares after every split of the schedule
    final_par: int
    list_date: dt.date
    sector: str
    start_price: float  # price level on the final share basis at the start of the history
    real: bool


@dataclass(frozen=True)
class SplitPlan:
    symbol: str
    date: dt.date  # planned date; moved to the next trading day by the market
    ratio: float  # the price basis: the base price is the last close divided by it
    kind: str = "split"
    # Shares after per share before, where it is not `ratio`: a rights issue sells its new
    # shares below the price, a merger adds shares at an unchanged price.
    shares_ratio: float | None = None


def _parse(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def build_specs(universe: int, start: dt.date) -> list[SymbolSpec]:
    """The first `universe` symbols: the large caps, then deterministic synthetic ones."""
    specs: list[SymbolSpec] = []
    for code, name, market, shares, par, listed, sector, price in _LARGE_CAPS[:universe]:
        # Every symbol trades over the whole history, so a later real listing date is moved
        # back to the start to keep the point-in-time symbol table coherent.
        specs.append(
            SymbolSpec(
                code,
                name,
                market,
                shares,
                par,
                min(_parse(listed), start),
                sector,
                float(price),
                True,
            )
        )
    missing = universe - len(specs)
    if missing <= 0:
        return specs
    # Draws always cover the largest universe, so a smaller one is a prefix of a larger one.
    size = MAX_UNIVERSE
    rng = np.random.default_rng(_UNIVERSE_SEED)
    taken = {code for code, *_ in _LARGE_CAPS}
    codes: list[str] = []
    for raw in rng.integers(1_000, 99_999, size=size * 2):
        code = f"{int(raw) * 10:06d}"
        if code not in taken:
            taken.add(code)
            codes.append(code)
    names = [p + s for p in _PREFIXES for s in _SUFFIXES]
    order = rng.permutation(len(names))
    markets = rng.choice(["KOSPI", "KOSDAQ", "KONEX"], size=size, p=[0.42, 0.55, 0.03])
    # KRW market cap at start; capped so the real large caps keep the top of the rankings.
    caps = np.exp(rng.normal(np.log(2.5e11), 1.3, size=size)).clip(5e9, 6e12)
    prices = np.exp(rng.normal(np.log(12_000), 1.2, size=size)).clip(500, 900_000)
    pars = rng.choice([100, 200, 500, 1_000, 5_000], size=size, p=[0.2, 0.05, 0.45, 0.1, 0.2])
    sectors = rng.integers(0, len(_SECTORS), size=size)
    # Listing dates are drawn as fractions so they do not depend on the start either.
    list_fraction = rng.random(size=size)
    span = (start - dt.date(1976, 1, 1)).days
    for i in range(missing):
        market = str(markets[i])
        cap = float(caps[i]) * (0.3 if market == "KONEX" else 1.0)
        shares = max(int(cap / prices[i]) // 1_000 * 1_000, 1_000_000)
        name = names[int(order[i % len(names)])]
        if i >= len(names):
            # Past the name grid, a numbered series keeps names unique.
            name = f"{name}{i // len(names) + 1}호"
        specs.append(
            SymbolSpec(
                symbol=codes[i],
                name=name,
                market=market,
                final_shares=shares,
                final_par=int(pars[i]),
                list_date=dt.date(1976, 1, 1) + dt.timedelta(int(list_fraction[i] * span)),
                sector=_SECTORS[int(sectors[i])],
                start_price=float(prices[i]),
                real=False,
            )
        )
    return specs


def split_plans(specs: list[SymbolSpec]) -> list[SplitPlan]:
    """Planned splits of this universe (the market keeps those inside its history)."""
    by_symbol = {spec.symbol for spec in specs}
    plans = [
        SplitPlan(code, _parse(day), ratio)
        for code, day, ratio in _REAL_SPLITS
        if code in by_symbol
    ]
    plans += [
        SplitPlan(specs[pos].symbol, _parse(day), ratio)
        for pos, day, ratio in _SYNTHETIC_SPLITS
        if pos < len(specs)
    ]
    plans += [
        SplitPlan(specs[pos].symbol, _parse(day), 1 + rate / 100, BONUS_ISSUE)
        for pos, day, rate in _SYNTHETIC_BONUS_ISSUES
        if pos < len(specs)
    ]
    plans += [
        SplitPlan(specs[pos].symbol, _parse(day), kept, CAPITAL_REDUCTION)
        for pos, day, kept in _SYNTHETIC_CAPITAL_REDUCTIONS
        if pos < len(specs)
    ]
    plans += [
        SplitPlan(
            specs[pos].symbol,
            _parse(day),
            rights_price_ratio(rate / 100, discount / 100),
            RIGHTS_ISSUE,
            1 + rate / 100,
        )
        for pos, day, rate, discount in _SYNTHETIC_RIGHTS_ISSUES
        if pos < len(specs)
    ]
    plans += [
        SplitPlan(
            specs[pos].symbol, _parse(day), 1.0, MERGER, merger_shares_ratio(specs[pos], r, k)
        )
        for pos, day, r, k in _SYNTHETIC_MERGERS
        if pos < len(specs)
    ]
    return plans


def rights_price_ratio(rate: float, discount: float) -> float:
    """Cum-rights close over the theoretical ex-rights price, `rate` new shares per old sold at
    `discount` below that close: (1 + rate) / (1 + rate × (1 - discount))."""
    return (1 + rate) / (1 + rate * (1 - discount))


def merger_terms(position: int) -> tuple[float, int]:
    """(ratio, the absorbed company's shares) of the model's merger at universe `position`."""
    return next((r, k) for pos, _, r, k in _SYNTHETIC_MERGERS if pos == position)


def merger_shares_ratio(spec: SymbolSpec, ratio: float, absorbed: int) -> float:
    """Shares after over shares before the merger: the absorbed company's holders get `ratio`
    new shares each, and `final_shares` are the shares after."""
    return spec.final_shares / (spec.final_shares - round(absorbed * ratio))
