"""The WebSocket protocol layer: requests, message classification, record splitting, AES."""

from __future__ import annotations

import json

import polars as pl
import pytest

from kis_pipeline.kis.errors import AppKeyInUse, BusinessError, PayloadError, SubscriptionLimit
from kis_pipeline.kis.ws import crypto, protocol
from kis_pipeline.kis.ws.columns import COLUMNS, H0STCNT0, H0STMKO0

# Records in the shape of the portal examples (46 / 10 fields), written out here.
TRADE = (
    "005930^093354^71900^5^-100^-0.14^72023.83^72100^72400^71700^71900^71800^1^3052507"
    "^219853241700^5105^6937^1832^84.90^1366314^1159996^1^0.39^20.28^090020^5^-200^090820^5"
    "^-500^092619^2^200^20230612^20^N^65945^216924^1118750^2199206^0.05^2424142^125.92^0^^72100"
)
STATUS_OLD = "396300^N^(null)^^311^^^55^N^N"


def trade(price: int, vol: int, acml: int) -> str:
    fields = TRADE.split("^")
    fields[2], fields[12], fields[13] = str(price), str(vol), str(acml)
    return "^".join(fields)


def frame(tr_id: str, *records: str, encrypt: str = "0") -> str:
    return f"{encrypt}|{tr_id}|{len(records):03d}|" + "^".join(records)


def test_column_lists_match_the_spec_widths() -> None:
    widths = {tr: len(cols) for tr, cols in COLUMNS.items()}
    assert widths["H0STCNT0"] == 46
    assert widths["H0STASP0"] == 59
    assert widths["H0STANC0"] == 45
    assert widths["H0STMKO0"] == 11
    assert widths["H0UPCNT0"] == 30
    assert H0STCNT0[13] == "ACML_VOL" and H0STCNT0[33] == "BSOP_DATE"
    assert COLUMNS["H0STASP0"][53] == "ACML_VOL"
    assert all(len(set(cols)) == len(cols) for cols in COLUMNS.values())


def test_subscribe_and_unsubscribe_messages() -> None:
    sub = json.loads(protocol.subscribe_message("APPROVAL", "H0STCNT0", "005930"))
    assert sub == {
        "header": {
            "approval_key": "APPROVAL",
            "custtype": "P",
            "tr_type": "1",
            "content-type": "utf-8",
        },
        "body": {"input": {"tr_id": "H0STCNT0", "tr_key": "005930"}},
    }
    unsub = json.loads(protocol.unsubscribe_message("APPROVAL", "H0STASP0", "000660"))
    assert unsub["header"]["tr_type"] == "2"
    assert unsub["body"]["input"] == {"tr_id": "H0STASP0", "tr_key": "000660"}


def test_ack_is_parsed_and_hides_its_key() -> None:
    text = json.dumps(
        {
            "header": {"tr_id": "H0STCNT0", "tr_key": "005930", "encrypt": "N"},
            "body": {
                "rt_cd": "0",
                "msg_cd": "OPSP0000",
                "msg1": "SUBSCRIBE SUCCESS",
                "output": {"iv": "0123456789abcdef", "key": "abcdefghijklmnopabcdefghijklmnop"},
            },
        }
    )
    ack = protocol.parse_message(text)
    assert isinstance(ack, protocol.Ack)
    assert ack.ok and not ack.encrypt and not ack.is_unsubscribe
    assert (ack.tr_id, ack.tr_key, ack.msg_cd) == ("H0STCNT0", "005930", "OPSP0000")
    assert (ack.iv, ack.key) == ("0123456789abcdef", "abcdefghijklmnopabcdefghijklmnop")
    assert "abcdefghijklmnop" not in repr(ack) and "0123456789abcdef" not in repr(ack)


def test_failed_acks_map_to_typed_errors() -> None:
    over = protocol.parse_message(
        '{"header":{"tr_id":"H0STASP0","tr_key":"000660","encrypt":"N"},'
        '"body":{"rt_cd":"1","msg_cd":"OPSP0008","msg1":"MAX SUBSCRIBE OVER"}}'
    )
    assert isinstance(over, protocol.Ack) and not over.ok
    assert isinstance(over.error(), SubscriptionLimit)
    # KIS sends OPSP8996 without a header at all.
    in_use = protocol.parse_message(
        '{"body":{"rt_cd":"9","msg_cd":"OPSP8996","msg1":"ALREADY IN USE appkey"}}'
    )
    assert isinstance(in_use, protocol.Ack) and isinstance(in_use.error(), AppKeyInUse)
    bad_key = protocol.parse_message(
        '{"header":{"tr_id":"H0STCNT0","tr_key":"99999X","encrypt":"N"},'
        '"body":{"rt_cd":"9","msg_cd":"OPSP8993","msg1":"JSON PARSING ERROR : invalid tr_key"}}'
    )
    assert isinstance(bad_key, protocol.Ack) and isinstance(bad_key.error(), BusinessError)
    unsub = protocol.parse_message(
        '{"header":{"tr_id":"H0STCNT0","tr_key":"005930","encrypt":"N"},'
        '"body":{"rt_cd":"0","msg_cd":"OPSP0001","msg1":"UNSUBSCRIBE SUCCESS"}}'
    )
    assert isinstance(unsub, protocol.Ack) and unsub.ok and unsub.is_unsubscribe


def test_pingpong_is_answered_with_its_own_text() -> None:
    text = '{"header":{"tr_id":"PINGPONG","datetime":"20240426093000"}}'
    ping = protocol.parse_message(text)
    assert isinstance(ping, protocol.PingPong)
    assert ping.datetime == "20240426093000"
    assert protocol.pong_text(ping) == text


def test_single_record_frame() -> None:
    message = protocol.parse_message(frame("H0STCNT0", TRADE))
    assert message == protocol.DataMessage(False, "H0STCNT0", 1, TRADE)
    records = protocol.decode_records(message)
    assert records.width == 46 and records.extra_fields == 0
    (row,) = records.as_dicts()
    assert row["MKSC_SHRN_ISCD"] == "005930"
    assert row["STCK_PRPR"] == "71900"
    assert row["ACML_VOL"] == "3052507"
    assert row["BSOP_DATE"] == "20230612"
    assert row["MRKT_TRTM_CLS_CODE"] == ""
    assert row["VI_STND_PRC"] == "72100"


def test_multi_record_frame_is_chunked_by_column_count() -> None:
    text = frame("H0STCNT0", trade(71900, 5, 105), trade(72000, 7, 112), trade(71800, 3, 115))
    records = protocol.decode_frame(text)
    assert len(records.rows) == 3
    rows = records.as_dicts()
    assert [r["STCK_PRPR"] for r in rows] == ["71900", "72000", "71800"]
    assert [r["ACML_VOL"] for r in rows] == ["105", "112", "115"]
    assert all(r["MKSC_SHRN_ISCD"] == "005930" for r in rows)


def test_extra_trailing_column_is_tolerated() -> None:
    text = frame("H0STCNT0", trade(71900, 5, 105) + "^NEW", trade(72000, 7, 112) + "^NEW")
    records = protocol.decode_frame(text)
    assert records.width == 47 and records.extra_fields == 1
    rows = records.as_dicts()
    # Alignment of the second record proves the per-record width was field_count / count.
    assert rows[1]["MKSC_SHRN_ISCD"] == "005930" and rows[1]["STCK_PRPR"] == "72000"
    assert rows[1]["VI_STND_PRC"] == "72100"
    assert "NEW" not in rows[1].values()


def test_older_shorter_layouts_pad_missing_columns() -> None:
    old = protocol.decode_frame(frame("H0STMKO0", STATUS_OLD))
    assert old.width == 10
    (row,) = old.as_dicts()
    assert row["ISCD_STAT_CLS_CODE"] == "55" and row["OVTM_VI_CLS_CODE"] == "N"
    assert row["TR_SUSP_REAS_CNTT"] == "(null)"
    assert row["EXCH_CLS_CODE"] is None
    two_new = protocol.decode_frame(frame("H0STMKO0", STATUS_OLD + "^K", STATUS_OLD + "^K"))
    assert two_new.width == len(H0STMKO0)
    assert [r["EXCH_CLS_CODE"] for r in two_new.as_dicts()] == ["K", "K"]
    # H0STCNT0 before VI_STND_PRC was added.
    legacy = protocol.decode_frame(frame("H0STCNT0", TRADE.rsplit("^", 1)[0]))
    assert legacy.width == 45 and legacy.rows[0][-1] is None


def test_a_wrong_count_keeps_every_whole_record() -> None:
    one, two, three = trade(71900, 5, 105), trade(72000, 7, 112), trade(71800, 3, 115)
    # The count is a claim: two records under count 1, three under count 2, all are read.
    lower = protocol.decode_frame(f"0|H0STCNT0|001|{one}^{two}")
    assert [r["ACML_VOL"] for r in lower.as_dicts()] == ["105", "112"]
    assert lower.width == 46 and lower.count == 1 and lower.leftover == ()
    three_under_two = protocol.decode_frame(f"0|H0STCNT0|002|{one}^{two}^{three}")
    assert [r["ACML_VOL"] for r in three_under_two.as_dicts()] == ["105", "112", "115"]
    higher = protocol.decode_frame(f"0|H0STCNT0|003|{one}^{two}")
    assert [r["ACML_VOL"] for r in higher.as_dicts()] == ["105", "112"]
    # Older records under a wrong count are cut at the older width.
    old = TRADE.rsplit("^", 1)[0]
    assert len(protocol.decode_frame(f"0|H0STCNT0|001|{old}^{old}").rows) == 2


def test_a_partial_record_after_whole_ones_is_left_over() -> None:
    one, two = trade(71900, 5, 105), trade(72000, 7, 112)
    half = "^".join(two.split("^")[:23])
    records = protocol.decode_frame(f"0|H0STCNT0|001|{one}^{half}")
    assert [r["ACML_VOL"] for r in records.as_dicts()] == ["105"]
    assert records.leftover == tuple(half.split("^"))
    result = protocol.parse_frames("H0STCNT0", [f"0|H0STCNT0|002|{one}^{two}^{half}"])
    assert result.frame["ACML_VOL"].to_list() == ["105", "112"]
    ((pos, record, reason),) = result.partials
    assert (pos, record) == (0, 2)
    assert "count field says 2" in reason and "23 field(s) left over" in reason


def test_encrypted_round_trip() -> None:
    key, iv = "k" * 16 + "K" * 16, "0123456789abcdef"
    plain = trade(71900, 5, 105) + "^" + trade(72000, 7, 112)
    cipher = crypto.encrypt_payload(plain, key, iv)
    assert cipher != plain
    text = f"1|H0STCNT0|002|{cipher}"
    message = protocol.parse_message(text)
    assert isinstance(message, protocol.DataMessage) and message.encrypted
    records = protocol.decode_records(message, key=key, iv=iv)
    assert [r["ACML_VOL"] for r in records.as_dicts()] == ["105", "112"]
    assert protocol.decode_frame(text, {"H0STCNT0": (key, iv)}).rows == records.rows
    with pytest.raises(PayloadError):
        protocol.decode_records(message)  # no key from an ack
    with pytest.raises(PayloadError):
        protocol.decode_records(message, key="x" * 32, iv=iv)  # wrong key: bad padding


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0|H0STCNT0|001",  # no payload part
        "0|H0STCNT0|0x1|" + TRADE,  # count not a number
        "0|H0STCNT0|000|" + TRADE,  # count out of range
        "0|H0STCNT0|002|" + "^".join(TRADE.split("^")[:30]),  # not one whole record
        "0|H0STCNT0|001|" + "^".join(TRADE.split("^")[:40]),  # too short, no such layout
        "0|H0ZZZZZ0|001|a^b",  # unknown TR
        "1|H0STCNT0|001|not base64!",  # undecryptable
        "garbage",
        "[1, 2]",
        '{"something": "else"}',
    ],
)
def test_malformed_frames_raise_payload_error(text: str) -> None:
    with pytest.raises(PayloadError):
        protocol.decode_frame(text, {"H0STCNT0": ("k" * 32, "i" * 16)})


def test_payload_error_never_quotes_the_payload() -> None:
    secret_payload = "SECRET^" * 10
    with pytest.raises(PayloadError) as info:
        protocol.decode_frame("0|H0STCNT0|001|" + secret_payload)
    assert "SECRET" not in str(info.value)


def test_bulk_parse_keeps_order_and_reports_bad_frames() -> None:
    frames = [
        frame("H0STCNT0", trade(71900, 5, 5)),
        frame("H0STCNT0", trade(72000, 7, 12), trade(72100, 3, 15), trade(72000, 1, 16)),
        "0|H0STCNT0|002|" + TRADE[:50],  # bad: not one whole record
        frame("H0STCNT0", TRADE.rsplit("^", 1)[0]),  # older 45-field layout
        frame("H0STASP0", "x"),  # another TR
        frame("H0STCNT0", trade(72200, 4, 20)),
    ]
    result = protocol.parse_frames("H0STCNT0", frames)
    df = result.frame
    assert df.columns == [protocol.FRAME_INDEX, *H0STCNT0]
    assert all(dtype == pl.Utf8 for dtype in df.drop(protocol.FRAME_INDEX).dtypes)
    assert df[protocol.FRAME_INDEX].to_list() == [0, 1, 1, 1, 3, 5]
    assert df["ACML_VOL"].to_list() == ["5", "12", "15", "16", "3052507", "20"]
    assert df["VI_STND_PRC"].to_list() == ["72100"] * 4 + [None, "72100"]
    assert [pos for pos, _ in result.errors] == [2, 4]
    assert result.records == 6 and result.extra_fields == 0


def test_bulk_parse_extra_column_and_encryption() -> None:
    key, iv = "abcdefghijklmnopabcdefghijklmnop", "fedcba9876543210"
    encrypted = "1|H0STCNT0|001|" + crypto.encrypt_payload(trade(1, 1, 1), key, iv)
    frames = [frame("H0STCNT0", trade(2, 2, 3) + "^X", trade(3, 3, 6) + "^X"), encrypted]
    result = protocol.parse_frames("H0STCNT0", frames, key=key, iv=iv)
    assert result.errors == []
    assert result.extra_fields == 1
    assert result.frame["STCK_PRPR"].to_list() == ["2", "3", "1"]
    assert result.frame[protocol.FRAME_INDEX].to_list() == [0, 0, 1]
    assert protocol.parse_frames("H0STCNT0", [encrypted]).errors[0][0] == 0  # no key


def test_parse_segment_groups_by_tr() -> None:
    frames = [
        '{"header":{"tr_id":"PINGPONG","datetime":"20240426093000"}}',
        frame("H0STCNT0", TRADE),
        frame("H0STMKO0", STATUS_OLD),
        "0|H0ZZZZZ0|001|a",
        frame("H0STCNT0", TRADE, TRADE),
        "?",
    ]
    segment = protocol.parse_segment(frames)
    assert segment.control == [0]
    assert [pos for pos, _ in segment.errors] == [3, 5]
    assert segment.tables["H0STCNT0"].frame[protocol.FRAME_INDEX].to_list() == [1, 4, 4]
    assert segment.tables["H0STMKO0"].frame[protocol.FRAME_INDEX].to_list() == [2]
    assert segment.error_count == 2


def test_bulk_parse_reads_every_field_as_the_one_frame_decoder_does() -> None:
    """Multi-record frames with empty fields (first, inner, last), older and longer layouts
    and a partial record, all in one call: every field lands in its record and column."""

    def blanked(record: str, *positions: int) -> str:
        fields = record.split("^")
        for i in positions:
            fields[i] = ""
        return "^".join(fields)

    one, two, three = trade(71900, 5, 105), trade(72000, 7, 112), trade(71800, 3, 115)
    old = TRADE.rsplit("^", 1)[0]
    frames = [
        frame("H0STCNT0", blanked(one, 0, 7), blanked(two, 45), blanked(three, 0, 1, 45)),
        frame("H0STCNT0", old, blanked(old, 0, 44)),  # the older 45-field layout
        frame("H0STCNT0", one + "^X", blanked(two, 45) + "^"),  # a column KIS appended
        f"0|H0STCNT0|001|{blanked(one, 0)}^{two}^" + "^".join(three.split("^")[:7]),
        frame("H0STCNT0", blanked(three, 0)),
    ]
    result = protocol.parse_frames("H0STCNT0", frames)
    expected = [
        (i, *row) for i, text in enumerate(frames) for row in protocol.decode_frame(text).rows
    ]
    assert result.frame.rows() == expected
    assert [(pos, record) for pos, record, _ in result.partials] == [(3, 2)]
    assert result.errors == [] and result.extra_fields == 1
