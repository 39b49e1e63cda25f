"""News and disclosure headlines of a day (for `news-title`, SPEC §17.2): market reports through
the day and company items naming one stock, each with a serial number, a provider, a category
and the time it was written. Everything is a function of (seed, day): the same headlines on
every call, and a day in progress has only those written by now.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

FIRST_HOUR, LAST_HOUR = 7, 19
PROVIDERS = (("2", "한국경제"), ("U", "인포스탁"), ("5", "연합뉴스"))
MARKET_HEADLINES = (
    "[시황] 코스피, 외국인 순매수에 {move} 출발",
    "[시황] 코스닥, 기관 매도에 {move}",
    "[마감시황] 코스피 {move} 마감…거래대금 증가",
    "[환율] 원·달러 환율 {move} 출발",
)
COMPANY_HEADLINES = (
    "{name}, 3분기 영업이익 시장 예상 {beat}",
    "{name}, 자기주식 취득 결정",
    "{name} 주요사항보고서(유상증자결정)",
    "{name}, 신규 시설투자 공시",
    "[특징주] {name}, 거래량 급증에 {move}",
)


@dataclass(frozen=True)
class Headline:
    serial: str
    provider: str
    source: str
    day: dt.date
    second: int  # seconds after midnight KST
    title: str
    category: str  # 뉴스 대구분: "시황", "공시", "종목"
    symbols: tuple[str, ...]


def headlines(seed: int, day: dt.date, listings: list[Any]) -> list[Headline]:
    """The day's headlines, oldest first."""
    rng = random.Random(f"news:{seed}:{day.isoformat()}")
    if not listings:
        return []
    # Weekends bring fewer headlines, not none.
    gap = (60, 900) if day.weekday() < 5 else (1800, 5400)
    out: list[Headline] = []
    second = FIRST_HOUR * 3600
    while True:
        second += rng.randint(*gap)
        if second >= LAST_HOUR * 3600:
            break
        provider, source = rng.choice(PROVIDERS)
        move = rng.choice(("상승", "하락", "강보합", "약보합"))
        if rng.random() < 0.3:
            title, category, symbols = rng.choice(MARKET_HEADLINES).format(move=move), "시황", ()
        else:
            listing = rng.choice(listings)
            template = rng.choice(COMPANY_HEADLINES)
            category = (
                "공시"
                if "공시" in template or "보고서" in template or "결정" in template
                else "종목"
            )
            title = template.format(name=listing.name, move=move, beat=rng.choice(("상회", "하회")))
            symbols = (listing.symbol,)
        serial = f"{day:%Y%m%d}{len(out) + 1:06d}"
        out.append(Headline(serial, provider, source, day, second, title, category, symbols))
    return out
