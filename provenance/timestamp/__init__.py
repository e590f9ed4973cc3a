"""RFC 3161 time-stamps for every signature: the store's own authority by default
(offline), an external one on request.

    authority = LocalAuthority(key, chain)          # or ExternalAuthority(url)
    found = stamp(authority, message)               # a checked Stamp (token, time, TSA)
    with LoopbackResponder(authority) as responder: # a URL for c2pa-rs (images)
        ...

docs/design.md, "Time-stamps", says what is trusted and why.
"""

from __future__ import annotations

from .authority import TSA_POLICY, Authority, ExternalAuthority, LocalAuthority, stamp
from .protocol import Stamp, TimeStampRequest, check_response, make_request, parse_request
from .responder import LoopbackResponder

__all__ = [
    "TSA_POLICY",
    "Authority",
    "ExternalAuthority",
    "LocalAuthority",
    "LoopbackResponder",
    "Stamp",
    "TimeStampRequest",
    "check_response",
    "make_request",
    "parse_request",
    "stamp",
]
