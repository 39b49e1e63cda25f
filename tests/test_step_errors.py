"""A failed step is summed up by our own error's sentence, not the library error under it."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.cli.dagster_runner import step_errors
from kis_pipeline.kis.errors import KisTransportError


@dg.asset
def unreachable() -> None:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as exc:
        raise KisTransportError(
            "/oauth2/tokenP: cannot reach http://127.0.0.1:9; check the network or KIS_REST_URL"
        ) from exc


def test_step_error_is_the_one_line_a_person_can_act_on() -> None:
    result = dg.materialize([unreachable], raise_on_error=False)
    assert step_errors(result) == [
        "unreachable: /oauth2/tokenP: cannot reach http://127.0.0.1:9; check the network or "
        "KIS_REST_URL"
    ]


@dg.asset(
    check_specs=[
        dg.AssetCheckSpec("gated_complete", asset="gated", blocking=True),
        dg.AssetCheckSpec("gated_no_rejects", asset="gated", blocking=True),
    ]
)
def gated() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(check_name="gated_complete", passed=False),
            dg.AssetCheckResult(check_name="gated_no_rejects", passed=False),
        ]
    )


def test_a_failed_gate_is_named_not_the_library_error() -> None:
    result = dg.materialize([gated], raise_on_error=False)
    assert step_errors(result) == ["gated: blocking checks failed: gated_complete,gated_no_rejects"]
