"""Every error the KIS client raises, and how a KIS answer maps onto them.

    KisError
    ├── KisConfigError          bad or missing settings (keys, KIS_ENV, URLs; an HTTP 4xx
    │                           that is not KIS's own error answer means a wrong URL)
    ├── KisTransportError       timeouts, truncated bodies, dropped connections (retryable)
    │   └── HostUnreachable     connection refused, unknown host: fails fast, not retried
    ├── StateStoreUnavailable   the shared state (KIS_STATE_URL, Redis) cannot be reached: no
    │                           request is sent, since none may go out unthrottled
    ├── PayloadError            a body or frame that does not have the documented shape
    └── KisApiError             KIS answered with an error code (carries tr_id, msg_cd, msg)
        ├── RateLimited         EGW00201: per-second limit exceeded (retryable)
        ├── ServerBusy          EGW00001/2, gateway routing, OPSQ0010/11, bare HTTP 5xx (retryable)
        ├── TokenExpired        EGW00121-123: refresh the token once, then retry
        ├── TokenIssueThrottled EGW00133: one token issuance per minute per app key
        ├── CredentialsRejected EGW00102-105, EGW00003/4: the app key or secret is wrong
        ├── BusinessError       any other rt_cd != "0": bad symbol, bad parameter (not retried)
        ├── ApprovalKeyRejected OPSP0010/0011/9994/9996: issue a new WebSocket approval key
        ├── SubscriptionLimit   OPSP0008: more than 41 WebSocket registrations
        └── AppKeyInUse         OPSP8996: another WebSocket session holds this app key

Retryability is a class attribute, so no caller parses message text. Messages never contain
secrets: an `KisApiError` carries the request parameters, never its headers.
"""

from __future__ import annotations

from collections.abc import Mapping


class KisError(Exception):
    """Base class of everything this package raises."""

    retryable: bool = False


class KisConfigError(KisError):
    """Settings are missing or invalid; the message says which variable and how to fix it."""


class KisTransportError(KisError):
    """The request did not get a complete answer (timeout, connection error, cut-off body)."""

    retryable = True


class HostUnreachable(KisTransportError):
    """No connection could be made (refused, unknown host): KIS is not at that address.

    Retrying for minutes cannot help, so the client tries a few times within a second or two,
    then fails this call and, for a while, every later call to the same host at once.
    """

    retryable = False


class StateStoreUnavailable(KisError):
    """The Redis of KIS_STATE_URL cannot be reached or refused: no request may be sent.

    Every worker of an app key paces itself by that shared state, so a worker that went on
    alone, unthrottled or with a limiter of its own, would overrun the key's limit.
    """


class PayloadError(KisError):
    """A response body or WebSocket frame does not have the documented shape."""


class KisApiError(KisError):
    """KIS answered with an error code."""

    def __init__(
        self,
        msg_cd: str,
        msg: str,
        *,
        tr_id: str = "",
        params: Mapping[str, str] | None = None,
        http_status: int | None = None,
    ) -> None:
        self.msg_cd = msg_cd
        self.msg = msg.strip()
        self.tr_id = tr_id
        self.params = dict(params or {})
        self.http_status = http_status
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = f" on {self.tr_id}" if self.tr_id else ""
        shown = ", ".join(f"{k}={v}" for k, v in self.params.items() if v)
        args = f" ({shown})" if shown else ""
        return f"KIS {self.msg_cd}{where}{args}: {self.msg}"


class RateLimited(KisApiError):
    retryable = True


class ServerBusy(KisApiError):
    retryable = True


class TokenExpired(KisApiError):
    """The access token is expired or invalid; the client refreshes it once and retries."""


class TokenIssueThrottled(KisApiError):
    retryable = True


class CredentialsRejected(KisApiError):
    """KIS rejected the app key or secret: check KIS_APP_KEY / KIS_APP_SECRET for this KIS_ENV."""

    def _describe(self) -> str:
        # KIS's own text is Korean only and names neither variable: say which one to fix.
        names = _CREDENTIAL_NAMES.get(self.msg_cd, "KIS_APP_KEY or KIS_APP_SECRET")
        where = _AUTH_CALLS.get(self.tr_id, f" on {self.tr_id}" if self.tr_id else "")
        return (
            f"KIS refused {names}{where} ({self.msg_cd} {self.msg}); check that KIS_APP_KEY "
            "and KIS_APP_SECRET are the pair issued for one app, for this KIS_ENV"
        )


class BusinessError(KisApiError):
    """KIS refused the request itself (unknown symbol, bad parameter): retrying cannot help."""


class ApprovalKeyRejected(KisApiError):
    """The WebSocket approval key (or its app key) was refused: issue a new approval key."""


class SubscriptionLimit(KisApiError):
    """OPSP0008: the session already holds the maximum number of registrations."""


class AppKeyInUse(KisApiError):
    """OPSP8996: another WebSocket session is open with this app key."""


_CREDENTIAL_NAMES = {
    "EGW00102": "KIS_APP_KEY",
    "EGW00103": "KIS_APP_KEY",
    "EGW00104": "KIS_APP_SECRET",
    "EGW00105": "KIS_APP_SECRET",
    "EGW00304": "KIS_APP_SECRET",
}

_AUTH_CALLS = {
    "/oauth2/tokenP": " when issuing an access token",
    "/oauth2/Approval": " when issuing a WebSocket approval key",
}

_BY_CODE: dict[str, type[KisApiError]] = {
    "EGW00201": RateLimited,
    "EGW00121": TokenExpired,
    "EGW00122": TokenExpired,
    "EGW00123": TokenExpired,
    "EGW00133": TokenIssueThrottled,
    "EGW00001": ServerBusy,
    "EGW00002": ServerBusy,
    "EGW00202": ServerBusy,
    "EGW00203": ServerBusy,
    "EGW00204": ServerBusy,
    "EGW00300": ServerBusy,
    "EGW00301": ServerBusy,
    "EGW00302": ServerBusy,
    "OPSQ0010": ServerBusy,
    "OPSQ0011": ServerBusy,
    "EGW00003": CredentialsRejected,
    "EGW00004": CredentialsRejected,
    "EGW00102": CredentialsRejected,
    "EGW00103": CredentialsRejected,
    "EGW00104": CredentialsRejected,
    "EGW00105": CredentialsRejected,
    "EGW00304": CredentialsRejected,
    "OPSP0008": SubscriptionLimit,
    "OPSP0010": ApprovalKeyRejected,
    "OPSP0011": ApprovalKeyRejected,
    "OPSP9994": ApprovalKeyRejected,
    "OPSP9996": ApprovalKeyRejected,
    "OPSP8996": AppKeyInUse,
}


def error_for(
    msg_cd: str,
    msg: str,
    *,
    tr_id: str = "",
    params: Mapping[str, str] | None = None,
    http_status: int | None = None,
) -> KisApiError:
    """Build the typed error for a KIS message code (unknown codes are business errors)."""
    cls = _BY_CODE.get(msg_cd.strip(), BusinessError)
    return cls(msg_cd.strip(), msg, tr_id=tr_id, params=params, http_status=http_status)
