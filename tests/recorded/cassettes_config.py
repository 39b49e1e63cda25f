"""How cassettes are recorded and replayed: what is scrubbed and how requests are matched.

Cassettes are recorded against the simulator (`python -m tests.recorded.record`) and replayed
offline by the tests. Credentials never reach a cassette: the auth headers are dropped, the
token request body is replaced and the token in the answer is masked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import vcr

CASSETTES = Path(__file__).parent / "cassettes"
SCRUBBED = "SCRUBBED"
SECRET_HEADERS = ("authorization", "appkey", "appsecret", "approval_key")
SECRET_BODY_FIELDS = ("appkey", "appsecret", "secretkey", "access_token", "approval_key", "token")


def _scrub_json(raw: bytes | str | None) -> bytes | str | None:
    if not raw:
        return raw
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, dict):
        for field in SECRET_BODY_FIELDS:
            if field in data:
                data[field] = SCRUBBED
    return json.dumps(data, ensure_ascii=False)


def _scrub_request(request: Any) -> Any:
    request.body = _scrub_json(request.body)
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body", {})
    if isinstance(body, dict) and "string" in body:
        scrubbed = _scrub_json(body["string"])
        body["string"] = scrubbed.encode() if isinstance(scrubbed, str) else scrubbed
    return response


def recorder(*, record_mode: str = "none") -> vcr.VCR:
    return vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=record_mode,
        # The simulator listens on a random port: match on everything but host and port.
        match_on=("method", "path", "query"),
        filter_headers=list(SECRET_HEADERS),
        before_record_request=_scrub_request,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
