#!/usr/bin/env bash
# `make demo`: the main job end to end, on an embedded default image, in ./demo-out.
# Every step is a real `provenance` command, shown before it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
OUT=demo-out
rm -rf "$OUT" && mkdir -p "$OUT"
export PROVENANCE_HOME="$OUT/home"
# Demo only: a real store gets its passphrase from a prompt or a secret manager.
export PROVENANCE_PASSPHRASE="demo passphrase, not for real keys"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
expect_exit() {  # run a command that must exit with the given code
  local want=$1; shift
  printf '\n\033[1m$ %s\033[0m\n' "$*"
  set +e; "$@"; local got=$?; set -e
  echo "(exit code $got)"
  [ "$got" -eq "$want" ] || { echo "demo: expected exit code $want" >&2; exit 1; }
}

step "$BIN/python" -m fixtures.demo_image "$OUT/generated.jpg"
step "$BIN/provenance" keys init --org "Demo AI Lab"
step "$BIN/provenance" sign "$OUT/generated.jpg" -o "$OUT/signed.jpg" \
  --model demo-diffusion --model-version 1.0
expect_exit 0 "$BIN/provenance" verify "$OUT/signed.jpg"

# Tamper: forge the claim in the manifest (the model name), keeping everything else.
"$BIN/python" - "$OUT/signed.jpg" "$OUT/tampered.jpg" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(data.replace(b"demo-diffusion", b"demo-diffusioN", 1))
PY
echo; echo "forged the model name in a copy: $OUT/tampered.jpg"
expect_exit 1 "$BIN/provenance" verify "$OUT/tampered.jpg"

# Change the content and keep the manifest: one byte of the picture data flipped.
"$BIN/python" - "$OUT/signed.jpg" "$OUT/altered.jpg" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[-400] ^= 0x01  # inside the JPEG's entropy-coded scan, after the manifest
open(sys.argv[2], "wb").write(bytes(data))
PY
echo; echo "flipped one byte of the picture data in a copy: $OUT/altered.jpg"
expect_exit 1 "$BIN/provenance" verify "$OUT/altered.jpg"

# What a social network does: strip all metadata, resize to 0.75, re-encode as JPEG 75.
"$BIN/python" - "$OUT/signed.jpg" "$OUT/shared.jpg" <<'PY'
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
w, h = image.size
image.resize((int(w * 0.75), int(h * 0.75)), Image.Resampling.BICUBIC).save(sys.argv[2], quality=75)
PY
echo; echo "stripped, resized and re-encoded a copy as a platform would: $OUT/shared.jpg"
expect_exit 0 "$BIN/provenance" verify "$OUT/shared.jpg"
expect_exit 1 "$BIN/provenance" verify --json "$OUT/signed.jpg" "$OUT/tampered.jpg" \
  "$OUT/altered.jpg" "$OUT/shared.jpg" "$OUT/generated.jpg"
echo; echo "demo finished: files in $OUT/"
