"""Markdown for the image-watermark section of docs/benchmarks.md (numbers from the run)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import _watermark_attacks as attacks
from provenance.watermark.image import ALGORITHM, TAG_BITS, WatermarkConfig
from provenance.watermark.image.config import ALGORITHMS

TARGETS = {"512 px": None, "1 MP": (0.150, 0.500), "12 MP": (1.5, None)}


def _rate(r: dict[str, Any], a: str) -> str:
    return f"{100 * r['exact'][a]:.0f}% ({r['acc'][a]:.2f})"


def _suite(r: dict[str, Any]) -> float:
    return 100 * float(np.mean(list(r["exact"].values())))


def _row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def _psnrs(r: dict[str, Any]) -> list[float]:
    return [p for _, p in r["psnr"]]


def _psnr_cell(r: dict[str, Any]) -> str:
    ps = _psnrs(r)
    return f"{min(ps):.2f} / {np.median(ps):.2f}" if ps else "-"


def _score(cells: dict[str, dict[str, list[float]]], photos: set[str], a: str) -> tuple[int, float]:
    """(exact-recovery %, mean bit accuracy) on ``photos``, rounded as the table shows them."""
    right = [x for p in photos for x in cells[p][a]]
    return round(100 * float(np.mean([x == 1.0 for x in right]))), round(float(np.mean(right)), 2)


def _names(items: list[str]) -> str:
    return ", ".join(f"`{a}`" for a in items)


def _compare(ours: dict[str, Any], anchor: dict[str, Any]) -> dict[str, list[str]]:
    """Attack by attack on the anchor's photos: does ours lead, tie or trail the anchor?

    Exact-recovery share first, mean bit accuracy to break ties (both as displayed)."""
    photos = set(anchor["cells"])
    out: dict[str, list[str]] = {"lead": [], "tie": [], "trail": []}
    for a in attacks.ALL:
        mine, theirs = _score(ours["cells"], photos, a), _score(anchor["cells"], photos, a)
        out["lead" if mine > theirs else "tie" if mine == theirs else "trail"].append(a)
    return out


def _matched_summary(names: list[str], results: dict[str, dict[str, Any]]) -> str:
    ours = results[names[0]]
    matched = [n for n in names[1:] if "strength" in results[n]]
    if not matched:
        return ""
    parts: list[str] = []
    ahead, n_ties, n_ties_100, n_trails = True, 0, 0, 0
    for n in matched:
        r = results[n]
        if not r["cells"]:
            parts.append(f"{n} reaches ours' PSNR on no photo, so it has no matched run.")
            ahead = False
            continue
        c = _compare(ours, r)
        ahead = ahead and not c["tie"] and not c["trail"]
        ties_100 = [a for a in c["tie"] if r["exact"][a] == 1.0]
        n_ties, n_ties_100, n_trails = (
            n_ties + len(c["tie"]),
            n_ties_100 + len(ties_100),
            n_trails + len(c["trail"]),
        )
        tie_text = f"ties on {len(c['tie'])}"
        if c["tie"]:
            tie_text += f" ({_names(c['tie'])}"
            tie_text += (
                "; all at 100% for both)"
                if len(ties_100) == len(c["tie"])
                else f"; {len(ties_100)} of them at 100% for both)"
            )
        trail_text = f"trails on {len(c['trail'])}" + (
            f" ({_names(c['trail'])})" if c["trail"] else ""
        )
        out_of_reach = (
            f" It cannot reach ours' PSNR on {', '.join(p for p, _ in r['unreachable'])} at any "
            "strength (best " + ", ".join(f"{b:.2f}" for _, b in r["unreachable"]) + " dB), "
            "which are left out of its column and of this comparison."
            if r["unreachable"]
            else ""
        )
        parts.append(
            f"At matched quality ({n}: PSNR >= ours on each photo it runs on, median "
            f"{np.median(_psnrs(r)):.2f} dB) the anchor recovers {_suite(r):.1f}% of the "
            f"suite; attack by attack ours leads on {len(c['lead'])} of {len(attacks.ALL)}, "
            f"{tie_text} and {trail_text}.{out_of_reach}"
        )
    if ahead:
        verdict = "Ours is ahead of every matched-quality anchor on every attack."
    else:
        why = []
        if n_ties:
            why.append(
                f"{n_ties} ties ({n_ties_100} of them with both at 100%, which this suite "
                "cannot separate)"
            )
        if n_trails:
            why.append(f"{n_trails} attacks where ours trails")
        verdict = (
            "So at matched PSNR ours is not yet ahead of every anchor on every attack: "
            + " and ".join(why or ["an anchor without a matched run"])
            + "."
        )
    return " ".join(parts) + " " + verdict


def _matched_text(names: list[str], results: dict[str, dict[str, Any]]) -> list[str]:
    matched = [n for n in names[1:] if "strength" in results[n]]
    if not matched:
        return []
    lines = [
        "",
        "**Matched quality.** Columns marked *@ PSNR>=ours* rerun an anchor with its strength "
        "chosen per photo: a short bracketed search (PSNR slope steps, then safeguarded "
        "bisection on log strength, <= 8 embeds unless nothing is feasible) on the unattacked "
        "embed of the very payload that is then attacked, keeping the largest strength found "
        "whose PSNR is >= ours' highest PSNR on that photo. The decoder is given the same "
        "per-photo strength (a favour to the anchor: a real user would have to know it). "
        "Ours leads / ties / trails an anchor on an attack by exact-recovery share, then mean "
        "bit accuracy, as displayed, over the photos the anchor could be matched on.",
        "",
        _row(
            "matched anchor",
            [
                "strength min / median / max",
                "PSNR above ours (median)",
                "search embeds",
                "photos out of reach",
            ],
        ),
        "|---|---|---|---|---|",
    ]
    for n in matched:
        r = results[n]
        ks = [k for _, k in r["strength"]]
        above = [p - r["targets"][label] for label, p in r["psnr"]]
        lines.append(
            _row(
                n,
                [
                    f"{min(ks):.3f} / {np.median(ks):.3f} / {max(ks):.3f} x ({r['strength_label']})"
                    if ks
                    else "-",
                    f"{np.median(above):+.2f} dB" if above else "-",
                    f"{r['search_embeds']}",
                    ", ".join(p for p, _ in r["unreachable"]) or "none",
                ],
            )
        )
    return lines


def report(
    results: dict[str, dict[str, Any]],
    times: dict[str, dict[str, tuple[float, float]]],
    null: tuple[int, int, float],
    n_secrets: int,
    pics: list[str],
    draws: int,
    turns: dict[str, dict[str, int]],
) -> str:
    names = list(results)
    ours = results[names[0]]
    config = WatermarkConfig()
    trials, hits, secs = null
    psnr_min = min(p for _, p in ours["psnr"])
    defaults = [n for n in names[1:] if "strength" not in results[n] and not n.startswith("ours")]
    lower = all(np.median(_psnrs(results[n])) < psnr_min for n in defaults)
    anchors = (
        "; at their default strength the anchors reach "
        + ", ".join(
            f"{_suite(results[n]):.1f}% ({n}, median PSNR {np.median(_psnrs(results[n])):.2f} dB)"
            for n in defaults
        )
        + (", all at lower PSNR than ours" if lower else "")
        if defaults
        else ""
    )
    lines = [
        f"**Summary.** Ours ({ALGORITHM}) embeds at PSNR >= {psnr_min:.2f} dB on every photo "
        f"(median SSIM {np.median(ours['ssim']):.4f}) and recovers all 64 bits in "
        f"{_suite(ours):.1f}% of {ours['n'] * len(attacks.ALL):,} attacked images{anchors}. "
        + (f"{matched} " if (matched := _matched_summary(names, results)) else "")
        + (f"Null trials: {trials:,}, {hits} detections." if trials else "Null trials not run."),
        "",
        "**Design.** A keyed tile of 32 x 32 chip cells (25% pilot, the rest carrying a K=7 "
        f"rate-1/3 convolutional code of 64 payload bits + a {TAG_BITS}-bit HMAC-SHA256 tag) "
        "repeats over the image at a quarter of its short side; chips are band-passed so "
        "their energy sits where a photo's own energy is low. The mark is added to luma "
        "only, along the BT.601 weights, scaled by a texture mask and by a gain solved for "
        "the target PSNR; when a photo's own interference limits decoding (full-frame "
        "texture), the coded bits are weighted by informed embedding. Detection: luma to a "
        "512 px short side, matched-filter whitening, nominal lattice first, else lattice "
        "candidates from the autocorrelation (axis peaks and an exhaustive square-lattice "
        "comb over period and rotation), tiles folded onto one, fold spectrum flattened, "
        "keyed pilot correlation for the offset and orientation (eight quarter turns and "
        "mirror images), soft Viterbi, tag check (v2 and v1 tags).",
        "",
        f"Photos ({len(pics)}, scikit-image's bundled photographs; *(up)* = short side under "
        f"512 px, upscaled to 512 with Lanczos): {', '.join(pics)}. Ours: {draws} random "
        f"payload(s) and secret(s) per photo ({ours['n']} marked images); anchors: 1 random "
        "payload per photo. Cells: share of marked images whose 64 bits all come back (mean bit "
        "accuracy; a detector that reports nothing counts 0.5).",
        "",
        _row("", names),
        "|---|" + "---|" * len(names),
        _row("marked images (photos)", [f"{r['n']} ({len(r['cells'])})" for r in results.values()]),
        _row("PSNR dB min / median", [_psnr_cell(r) for r in results.values()]),
        _row(
            "SSIM median",
            [f"{np.median(r['ssim']):.4f}" if r["ssim"] else "-" for r in results.values()],
        ),
    ]
    lines += [
        _row(a, [_rate(r, a) if r["n"] else "-" for r in results.values()]) for a in attacks.ALL
    ]
    lines.append(_row("**whole suite**", [f"**{_suite(r):.1f}%**" for r in results.values()]))
    lines += _matched_text(names, results)
    per_photo = ours["per_photo"]
    lines += [
        "",
        "Ours per photo (exact recoveries / attacked images):",
        "",
        _row("photo", list(per_photo)),
        "|---|" + "---|" * len(per_photo),
        _row("exact", [f"{ok}/{n}" for ok, n in per_photo.values()]),
        _row(
            "PSNR dB (min)",
            [f"{min(p for p, _ in q):.2f}" for q in ours["quality_by_photo"].values()],
        ),
        _row(
            "SSIM (min)",
            [f"{min(s for _, s in q):.4f}" for q in ours["quality_by_photo"].values()],
        ),
    ]
    n_photos = len(pics)
    upright = {a: round(ours["exact"][a] * 100) for a in attacks.ALL}
    lines += [
        "",
        f"**Orientations.** Each photo marked once (a fresh secret), turned or mirrored, then "
        f"attacked: exact recoveries out of {n_photos} photos, per turn (columns) and attack "
        "(rows); *upright* is ours' share above, for comparison.",
        "",
        _row("attack", ["upright", *turns]),
        "|---|" + "---|" * (len(turns) + 1),
    ]
    lines += [
        _row(a, [f"{upright[a]}%", *(f"{turns[t][a]}/{n_photos}" for t in turns)])
        for a in attacks.ALL
    ]
    total = sum(sum(t.values()) for t in turns.values())
    cases = n_photos * len(attacks.ALL) * len(turns)
    lines.append(
        _row("**all**", [f"**{_suite(ours):.1f}%**", f"**{100 * total / cases:.1f}%** of {cases}"])
    )
    below = [f"{a} {100 * ours['exact'][a]:.0f}%" for a in attacks.ALL if ours["exact"][a] < 0.95]
    failed_photos = sorted({f.split("/")[0] for f in ours["failures"]})
    lines += [
        "",
        f"**Shortfalls.** Attacks where ours is under 95%: {', '.join(below) or 'none'}. "
        f"Photos with any failure: {', '.join(failed_photos) or 'none'}.",
    ]
    sizes = list(next(iter(times.values())))
    lines += [
        "",
        "Speed, one process, best of 5 runs (12 MP: ours 2, anchors 1), on a 2-core machine "
        "shared with other jobs; embed / detect of the unattacked image in seconds (1 MP and "
        "12 MP: the astronaut photo resized). Targets: embed <= 0.15 s and detect <= 0.5 s at "
        "1 MP, embed <= 1.5 s at 12 MP.",
        "",
        _row("method", sizes),
        "|---|" + "---|" * len(sizes),
    ]
    for m, t in times.items():
        lines.append(
            _row(
                m, [f"{t[s][0]:.3f} / {t[s][1]:.3f}" if s in t else "not run" for s in sizes]
            ).replace("nan / ", "- / ")
        )
    lines += [
        "",
        f"**False positives.** Null trials: {trials:,} = unmarked photos x every attack x "
        f"{n_secrets} random secrets per detect call ({secs:.0f} s): **{hits} detections**. "
        f"Analytic bound: a payload is reported only when the {TAG_BITS}-bit keyed tag "
        "(truncated HMAC-SHA256 of the payload under a key derived from the secret) decodes "
        "exactly; without the secret, or on an unmarked image, each decoding attempt passes "
        f"with probability 2^-{TAG_BITS}. The sync search is free (it needs no secret and "
        "decodes nothing), and so is the orientation search (the pilot is correlated in all "
        "eight quarter turns and mirror images; nothing is decoded); each secret gets at most "
        f"{config.max_decodes} decoding attempts (best pilot offsets over the lattice "
        "candidates and orientations, refinement included), and each decoding is checked "
        f"against the tags of {len(ALGORITHMS)} formats (v1 and v2), so P(false report) <= "
        f"{config.max_decodes} x {len(ALGORITHMS)} x 2^-{TAG_BITS} = "
        f"{config.false_positive_bound(1):.2e} per image and secret, and k times that when k "
        "secrets are tried; `detect` reports that bound, with k, as its p-value.",
    ]
    return "\n".join(lines)
