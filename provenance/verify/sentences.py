"""The summary's sentences: plain words for what was observed, never a guessed cause.

``provenance.verify.verdict`` decides; these say how the content was made (``claims``,
``made``, ``edited_from``), who signed it and when (``signed_by``, ``time``), why it
failed (``reason``) and what failed among its ingredients (``ingredients``).
"""

from __future__ import annotations

import datetime as dt

from provenance.credentials.explain import explain_code
from provenance.credentials.status import REVOKED, TRUST_ONLY, ValidationState, breaks
from provenance.verify.observations import (
    COMPOSITE,
    IPTC,
    PARENT_OF,
    Claims,
    IngredientFacts,
    ManifestFacts,
    origin,
)


def claims(said: Claims, *, claimed: bool = False) -> list[str]:
    """How the content was made, as the manifest says (``claimed``: its word is not proof)."""
    says = "claims " if claimed else ""
    if said.ai_generated:
        model = f" by {said.model}" if said.model else ""
        kind = "AI-edited" if said.digital_source_type == COMPOSITE else "AI-generated"
        return [f"{says}{kind}{model}"]
    if said.ai_generated is False:
        source = (said.digital_source_type or "").removeprefix(IPTC)
        return [f"{says}not AI-generated (digital source type {source})"]
    return [] if claimed else ["does not say how it was made"]


def made(manifest: ManifestFacts) -> list[str]:
    """How intact content was made: its manifest's word, and for an edit what it was
    edited from (a silent edit takes its origin from its parent)."""
    parent = manifest.parent
    if parent is None:
        return claims(manifest.claims)
    silent = manifest.claims.ai_generated is None
    said = not silent or origin(manifest.claims, parent) is None  # else the parent says
    return [*(claims(manifest.claims) if said else []), edited_from(parent)]


def edited_from(parent: IngredientFacts) -> str:
    if parent.state is None:
        return "edited from an original without credentials"
    if parent.state is ValidationState.INVALID:
        reasons = ", ".join(
            dict.fromkeys(explain_code(code) for code in parent.failures if breaks(code))
        )
        return "edited from an original whose credentials failed validation" + (
            f" ({reasons})" if reasons else ""
        )
    found = origin(parent.claims, parent.parent)
    if found is None:
        return "edited from an original that does not say how it was made"
    if found.ai_generated:
        made = "AI-edited" if found.digital_source_type == COMPOSITE else "AI-generated"
        model = f" by {found.model}" if found.model else ""
        return f"edited from an {made} original{model}"
    source = (found.digital_source_type or "").removeprefix(IPTC)
    return f"edited from an original that is not AI-generated (digital source type {source})"


def signed_by(claims: Claims) -> str:
    if not (claims.signer or claims.issuer):
        return ""
    issuer = f" ({claims.issuer})" if claims.issuer else ""
    return f"signed by {claims.signer or 'an unnamed signer'}{issuer}"


def reason(code: str, manifest: ManifestFacts) -> str:
    """Plain words for a failure; a revocation says when and who said so."""
    revocation = manifest.revocation
    if code != REVOKED or revocation is None:
        return explain_code(code)
    when = f" on {moment(revocation.since)}" if revocation.since else ""
    if manifest.stamped_at and revocation.since and manifest.stamped_at < revocation.since:
        # Covered although stamped before: the key was taken, and so was its CA's authority.
        return (
            f"the signing certificate was revoked{when} ({revocation.source}) because its "
            f"key was compromised; its time-stamp of {moment(manifest.stamped_at)} is from "
            "its own CA's authority, which whoever took the key could use too"
        )
    stamped = (
        f", before its time-stamp of {moment(manifest.stamped_at)}"
        if manifest.stamped_at and revocation.since
        else ", and no trusted time-stamp shows it was signed before"
        if revocation.since
        else ""
    )
    return f"the signing certificate was revoked{when} ({revocation.source}){stamped}"


def time(manifest: ManifestFacts) -> list[str]:
    """When it was signed, as a trusted time-stamp says; and a revocation it predates."""
    if manifest.stamped_at is None:
        return []
    when = moment(manifest.stamped_at)
    parts = [f"signed at {when} (time-stamped by {manifest.stamped_by or 'a trusted TSA'})"]
    revocation = manifest.revocation
    if revocation is not None and not manifest.revoked and revocation.since is not None:
        signer = manifest.claims.signer or "the signer"
        parts.append(f"signed before {signer} was revoked on {moment(revocation.since)}")
    return parts


def moment(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ingredients(manifest: ManifestFacts) -> list[str]:
    """What failed among the ingredients: c2pa-rs's deltas now, then each direct
    ingredient other than the parent (whose failure ``edited_from`` says) that failed,
    and the notes of any direct ingredient (a CAWG identity's signer not trusted: the
    ingredient's, never the active manifest's)."""
    parts = [
        f"ingredient: {explain_code(code)}"
        for code in dict.fromkeys(manifest.ingredient_failures)
        if breaks(code)
    ]
    for ingredient in manifest.ingredients:
        title = ingredient.title or "(untitled)"
        if ingredient.state is ValidationState.INVALID and ingredient.relationship != PARENT_OF:
            reasons = ", ".join(
                dict.fromkeys(explain_code(code) for code in ingredient.failures if breaks(code))
            )
            parts.append(
                f"ingredient {title} ({ingredient.relationship or 'no relationship'}) failed "
                f"validation" + (f": {reasons}" if reasons else "")
            )
        notes = [explain_code(code) for code in ingredient.failures if _note(code)]
        if notes and ingredient.state is not ValidationState.INVALID:
            parts.append(f"ingredient {title}: {', '.join(dict.fromkeys(notes))}")
    return parts


def _note(code: str) -> bool:
    """A code that says who is trusted other than the signer or a time-stamp's
    authority (a CAWG identity's signer): shown as a note, as for the active manifest."""
    return not breaks(code) and code not in TRUST_ONLY


def other_sidecar(name: str, made_for: str) -> str:
    """A sidecar set aside: its manifest was made for other content."""
    return f"the sidecar {name} is not this file's: its manifest was made for {made_for}"
