"""Value types the synthetic market hands out (re-exported by `simulator.market`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Listing:
    symbol: str
    name: str
    market: str  # "KOSPI" | "KOSDAQ" | "KONEX"
    listed_shares: int  # as of the last completed session
    par_value: int  # KRW, as of the last completed session
    list_date: dt.date
    sector: str


@dataclass(frozen=True)
class DailyBar:
    date: dt.date
    open: int
    high: int
    low: int
    close: int
    volume: int
    value: int
    prev_close: int  # base price of the day: previous close, or the reset basis after a split
    flng_cls_code: str = "00"  # 락 구분 (SPEC §7.3): 01 split or bonus-issue day, 02/05 ex-div
    prtt_rate: float = 0.0  # reference price / previous close on such a day (1/ratio)
    revl_issu_reas: str = ""  # "99" on a split day (base price re-evaluated), else ""


@dataclass(frozen=True)
class CorporateAction:
    date: dt.date
    symbol: str
    kind: str  # "split", "bonus_issue" or "capital_reduction"
    ratio: float  # new shares per old share


@dataclass(frozen=True)
class BonusIssue:
    """A bonus issue (무상증자) as the KSD schedule shows it: `fix_rate` new shares per 100
    old, ex-rights on `ex_date` (the session before `record_date`), new shares listed on
    `list_date`; share counts before the issue and added by it."""

    symbol: str
    record_date: dt.date
    ex_date: dt.date
    fix_rate: float
    odd_lot_price: int  # the ex-rights base price, at which fractional shares are paid
    odd_lot_pay_date: dt.date
    list_date: dt.date
    total_shares: int
    new_shares: int
    announced: dt.date


@dataclass(frozen=True)
class CapitalReduction:
    """A capital reduction (자본감소) as the KSD schedule shows it: `kept_ratio` shares kept
    per old share (감자배정율), trading halted from `halt_start` to `halt_end`, the reduced
    shares relisted on `list_date` (the first session at the new basis)."""

    symbol: str
    record_date: dt.date
    reduction_type: str  # 감자구분: 유상 (paid) or 무상 (without payment)
    kept_ratio: float
    method: str  # 계산방법: how fractional shares are settled
    halt_start: dt.date
    halt_end: dt.date
    list_date: dt.date
    announced: dt.date


@dataclass(frozen=True)
class RightsIssue:
    """A rights issue to shareholders (주주배정 유상증자) as the KSD schedule shows it: `fix_rate`
    new shares per 100 old sold at `issue_price` (`discount_rate` % below the cum-rights
    close), ex-rights on `ex_date` (the session before `record_date`), subscribed from
    `subscription_start` to `subscription_end`, the new shares listed on `list_date`."""

    symbol: str
    record_date: dt.date
    ex_date: dt.date
    fix_rate: float
    discount_rate: float
    issue_price: int
    subscription_start: dt.date
    subscription_end: dt.date
    list_date: dt.date
    total_shares: int
    new_shares: int
    announced: dt.date


@dataclass(frozen=True)
class Merger:
    """A merger (합병) as the KSD schedule shows it: the listed `symbol` (`company`) absorbs
    `absorbed` (`absorbed_name`, unlisted), whose holders get `ratio` new shares each on the
    record date; the new shares list on `list_date`."""

    symbol: str
    company: str
    record_date: dt.date
    absorbed: str
    absorbed_name: str
    merger_type: str
    ratio: float
    list_date: dt.date
    odd_lot_pay_date: dt.date
    total_shares: int
    new_shares: int
    announced: dt.date


@dataclass(frozen=True)
class IndexBar:
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: int
    prev_close: float = 0.0


@dataclass(frozen=True)
class OverseasBar:
    date: dt.date
    open: float
    high: float
    low: float
    close: float
    volume: int
    value: float
    prev_close: float = 0.0


@dataclass(frozen=True)
class InvestorFlow:
    """One day's trading by investor group; every group's net is buy - sell, nets sum to 0."""

    date: dt.date
    key: str  # symbol, or "KOSPI"/"KOSDAQ"/"KONEX"
    individual_buy_volume: int
    individual_sell_volume: int
    individual_net_volume: int
    foreign_buy_volume: int
    foreign_sell_volume: int
    foreign_net_volume: int
    institution_buy_volume: int
    institution_sell_volume: int
    institution_net_volume: int
    other_corp_buy_volume: int
    other_corp_sell_volume: int
    other_corp_net_volume: int
    individual_buy_value: int  # KRW
    individual_sell_value: int
    individual_net_value: int
    foreign_buy_value: int
    foreign_sell_value: int
    foreign_net_value: int
    institution_buy_value: int
    institution_sell_value: int
    institution_net_value: int
    other_corp_buy_value: int
    other_corp_sell_value: int
    other_corp_net_value: int


INVESTOR_GROUPS: tuple[str, ...] = ("individual", "foreign", "institution", "other_corp")


@dataclass(frozen=True)
class FinancialPeriod:
    symbol: str
    period: str  # "YYYYMM"
    period_type: str  # "annual" | "quarter"
    balance: dict[str, float]  # SPEC §10.1 fields, KRW 100 million
    income: dict[str, float]  # SPEC §10.2 fields, KRW 100 million, year-to-date for quarters
    ratios: dict[str, float]  # SPEC §10.3 fields (%, KRW per share)
    published: dt.date = field(default=dt.date(1900, 1, 1))  # first day the figures are known


@dataclass(frozen=True)
class Dividend:
    symbol: str
    record_date: dt.date
    pay_date: dt.date | None  # None until the board has fixed it
    kind: str  # "결산" (year-end), "중간" (interim), "분기" (quarterly)
    dividend_per_share: int  # KRW
    cash_rate: float  # % of par value (KSD divi_rate)
    stock_rate: float  # % (KSD stk_divi_rate); always 0.0 here
    face_value: int  # par value on the record date
    ex_date: dt.date | None = None  # the trading day the stock goes ex-dividend
    stock_kind: str = "보통"  # KSD stk_kind
    high_dividend: bool = False  # KSD high_divi_gb


@dataclass(frozen=True)
class QuoteStats:
    """Reference figures of the current-price snapshot (SPEC §7.1) as of one session."""

    date: dt.date
    w52_high: int
    w52_high_date: dt.date
    w52_low: int
    w52_low_date: dt.date
    d250_high: int
    d250_high_date: dt.date
    d250_low: int
    d250_low_date: dt.date
    year_high: int
    year_high_date: dt.date
    year_low: int
    year_low_date: dt.date
    upper_limit: int  # limits for this session, from its base price
    lower_limit: int
    listed_shares: int
    market_cap: int  # KRW
    per: float
    pbr: float
    eps: float
    bps: float
    foreign_holding_qty: int
    foreign_exhaustion_rate: float  # %
    volume_turnover: float  # % of listed shares traded
