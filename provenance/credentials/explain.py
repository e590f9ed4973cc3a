"""Plain words for C2PA validation codes and c2pa-rs signing errors.

Users name cryptic validation output as the field's top pain point (c2pa-python #199,
#319; c2pa-rs #2262, #2497); every code we can meet gets a sentence a moderator can act on.
"""

from __future__ import annotations

_CODES: dict[str, str] = {
    "assertion.dataHash.mismatch": "content changed after signing",
    "assertion.boxesHash.mismatch": "content changed after signing",
    "assertion.bmffHash.mismatch": "content changed after signing",
    "assertion.collectionHash.mismatch": "content changed after signing",
    "assertion.hashedURI.mismatch": "the manifest was altered after signing",
    "assertion.missing": "the manifest refers to an assertion that is missing",
    "assertion.multipleHardBindings": "the manifest has more than one hard binding",
    "assertion.undeclared": "the manifest holds an assertion its claim does not list",
    "claim.missing": "the manifest's claim is missing",
    "claim.malformed": "the manifest's claim is malformed",
    "claimSignature.mismatch": "the signature does not match the manifest (forged or altered)",
    "claimSignature.missing": "the manifest has no signature",
    "claimSignature.outsideValidity": "signed outside the signing certificate's validity period",
    "signingCredential.untrusted": "signed by an identity not in your trust anchors",
    "signingCredential.invalid": (
        "the signing certificate does not meet the C2PA certificate profile "
        "(or its extended key usage is not in the trust configuration)"
    ),
    "signingCredential.expired": (
        "the signing certificate had expired and no time-stamp shows it was signed before"
    ),
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.ocsp.revoked": "the signing certificate was revoked (OCSP)",
    "ingredient.manifest.missing": "an ingredient's manifest is missing",
    "ingredient.hashedURI.mismatch": "an ingredient's manifest was altered",
    "manifest.inaccessible": "the manifest could not be read",
    "manifest.malformed": "the manifest is malformed",
    "manifest.remote.unreachable": "the manifest is stored remotely and was not fetched",
    "manifest.text.corruptedWrapper": "the text's C2PA wrapper is damaged",
    "manifest.text.multipleWrappers": "the text carries more than one C2PA wrapper",
    "timeStamp.mismatch": (
        "the time-stamp does not match the signature, so it does not count as the signing time"
    ),
    "timeStamp.untrusted": (
        "the time-stamp's authority is not trusted here, so it does not count as the signing time"
    ),
    "timeStamp.malformed": "the time-stamp is malformed, so it does not count as the signing time",
    "timeStamp.outsideValidity": (
        "the time-stamp authority's certificate was not valid at the stamped time, so it does "
        "not count as the signing time"
    ),
    "cawg.x509.credential.untrusted": "the CAWG identity assertion's signer is not trusted",
    "cawg.identity.signature.mismatch": "the CAWG identity assertion's signature does not match",
    "validation.failed": "validation failed without a reason given",
    "ingredient.failed": "an ingredient failed validation",
}

# Substrings of c2pa-rs signing errors, most specific first, with what to do about them.
_SIGNING_ERRORS: tuple[tuple[str, str], ...] = (
    (
        "self-signed",
        "the signing certificate is a CA or self-signed; C2PA needs a leaf certificate "
        "issued by a CA (use `provenance keys create`)",
    ),
    (
        "certificate is invalid",
        "the signing certificate breaks the C2PA certificate profile (an EKU such as "
        "codeSigning or serverAuth, a missing Authority Key Identifier, or keyCertSign on a leaf)",
    ),
    (
        "signature does not match",
        "the private key does not belong to the signing certificate",
    ),
    (
        "COSE signature invalid",
        "the signer failed while signing (see the cause above)",
    ),
    (
        "type is unsupported",
        "this file type cannot carry an embedded C2PA manifest",
    ),
)


# Substrings of c2pa-rs's errors for a file it cannot parse, with what they say in words.
_PARSE_ERRORS: tuple[tuple[str, str], ...] = (
    ("too deply nested", "its boxes are nested too deeply"),
    ("too deeply nested", "its boxes are nested too deeply"),
    ("box size extends beyond asset bounds", "a box runs past the end of the file"),
)


def explain_code(code: str, fallback: str | None = None) -> str:
    """A sentence for a validation status code (or the validator's own words)."""
    if code in _CODES:
        return _CODES[code]
    if code.endswith(".mismatch"):
        return f"a hash or signature does not match ({code})"
    return fallback or code


def explain_signing_error(message: str) -> str:
    """c2pa-rs's signing error with plain words on what it means."""
    for needle, meaning in _SIGNING_ERRORS:
        if needle.lower() in message.lower():
            return f"{meaning} [c2pa: {message.strip()}]"
    return f"signing failed [c2pa: {message.strip()}]"


def explain_parse_error(message: str) -> str:
    """The sentence for a file c2pa-rs could not parse: plain words when the reason is
    known, else c2pa-rs's own message, marked as such."""
    for needle, meaning in _PARSE_ERRORS:
        if needle in message.lower():
            return f"the file could not be parsed: {meaning}"
    return f"the file could not be parsed [c2pa: {message.strip()}]"
