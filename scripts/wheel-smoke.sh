#!/usr/bin/env bash
# The built wheel, as a stranger installs it: build it, install it into a fresh venv in a
# temporary folder outside the checkout (a real install that resolves its dependencies;
# pip's cache keeps it quick), and run it on a plain copy of the examples.
#
#   1. gate-only install (no extras): `assay gate` works, `assay pack` names the extra;
#   2. `pip install 'assay[pack]'`: a signed pack is built and verified with --reassess.
#
# The fresh venv is made without pip (ensurepip costs ~10 s here); the pip of the Python
# given installs into it with --python, resolving every dependency from the index.
#
# Usage: scripts/wheel-smoke.sh [python]   (default: .venv/bin/python, which has pip >= 22.3).
# Exits non-zero on any surprise.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${1:-$REPO/.venv/bin/python}
AS_OF=2026-11-20T12:00:00Z
WORK=$(mktemp -d "${TMPDIR:-/tmp}/assay-wheel-smoke.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
step() { printf 'wheel-smoke: %s (%ss)\n' "$1" "$(($(date +%s) - START))"; }
fail() { echo "wheel-smoke: FAILED: $*" >&2; exit 1; }

step "building the wheel"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$REPO" 2>&1 | grep -v "is ignored" || true
WHEEL=$(ls "$WORK"/dist/assay-*.whl) || fail "no wheel was built"

# Every bundled file of the checkout is in the wheel (package-data globs miss new folders).
"$PY" - "$WHEEL" "$REPO/src/assay/bundled" <<'EOF' || fail "the wheel lacks bundled files"
import sys, zipfile
from pathlib import Path
wheel, source = sys.argv[1], Path(sys.argv[2])
shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("assay/bundled/")}
wanted = {f"assay/bundled/{p.relative_to(source).as_posix()}"
          for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
missing = sorted(wanted - shipped)
print("\n".join(f"  missing: {m}" for m in missing), file=sys.stderr)
sys.exit(1 if missing or not wanted else 0)
EOF

step "installing it, without extras, into a fresh venv"
"$PY" -m venv --without-pip "$WORK/venv"
BIN=$WORK/venv/bin
install() {
  "$PY" -m pip --python "$BIN/python" install --quiet --no-compile "$@" 2>&1 \
    | grep -v "is ignored" || true
}
install "$WHEEL"
"$BIN/python" -c "import assay" || fail "the installed wheel does not import"
"$BIN/python" -c "import weasyprint" 2>/dev/null && fail "a gate-only install pulled in weasyprint"

# A plain copy (no symlinks followed, none needed), run from outside the checkout.
cp -r "$REPO/examples" "$WORK/project"
rm -f "$WORK/project/generate_evidence.py"
cd "$WORK"

step "assay gate on a copy of the examples"
set +e
"$BIN/assay" gate --project project --workflow credit-limit --as-of "$AS_OF" --format text >gate.txt
rc=$?
"$BIN/assay" gate --project project --all --as-of "$AS_OF" --format json --output all.json
rc_all=$?
set -e
[ "$rc" -eq 0 ] || { cat gate.txt; fail "gate credit-limit: exit $rc, expected 0"; }
[ "$rc_all" -eq 1 ] || fail "gate --all: exit $rc_all, expected 1 (two workflows fail on purpose)"
"$BIN/python" - <<'EOF' || fail "gate --all gave other verdicts than the examples document"
import json
fleet = json.load(open("all.json"))
verdicts = {a["workflow"]["id"]: a["summary"]["compliant"] for a in fleet["assessments"]}
expected = {"claims-triage": False, "credit-limit": True, "support-assistant": False}
assert verdicts == expected, verdicts
files = {i["path"] for a in fleet["assessments"] for i in a["inputs"]}
assert "bundled/catalog.yaml" in files, sorted(files)[:5]
EOF

step "assay pack without the pack extra"
set +e
"$BIN/assay" pack --project project --workflow credit-limit --as-of "$AS_OF" \
  --unsigned --output unsigned.pdf >pack.out 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || { cat pack.out; fail "pack without extras: exit $rc, expected 2"; }
grep -q "pip install 'assay\[pack\]'" pack.out || { cat pack.out; fail "pack did not name the extra"; }
grep -q -i "traceback\|internal error" pack.out && { cat pack.out; fail "pack crashed"; }

step "installing the pack extra"
install "$WHEEL[pack]"

step "assay keys init, pack and verify --reassess"
export ASSAY_KEY_PASSPHRASE=wheel-smoke-only
"$BIN/assay" keys init --out keys >/dev/null
# support-assistant: the smallest pack of the three, with an active and an expired waiver.
"$BIN/assay" pack --project project --workflow support-assistant --as-of "$AS_OF" \
  --pkcs12 keys/signer.p12 --output support-assistant.pdf >/dev/null
"$BIN/assay" verify support-assistant.pdf --trust keys/cert.pem --reassess >verify.txt \
  || { cat verify.txt; fail "verify --reassess did not pass"; }

step "passed"
