#!/usr/bin/env bash
# The main job on the bundled example: gate every workflow, then build, sign and verify
# an audit pack for each. Packs are left in $OUT/packs for you to open.
set -uo pipefail
OUT=${1:-out/demo}
BIN=.venv/bin
AS_OF=2026-11-20T12:00:00Z
mkdir -p "$OUT/packs" "$OUT/reports"

echo "== assay gate --all (as of $AS_OF) =="
"$BIN/assay" gate --project examples --all --as-of "$AS_OF" \
  --format text --format "json=$OUT/reports/assessments.json" \
  --format "sarif=$OUT/reports/assay.sarif" --format "junit=$OUT/reports/junit.xml" \
  --format "markdown=$OUT/reports/summary.md"
gate_rc=$?
case $gate_rc in
  0) echo "gate: exit 0 (every workflow compliant)";;
  1) echo "gate: exit 1 (at least one workflow is non-compliant, as the example intends)";;
  *) echo "gate: exit $gate_rc (input error)"; exit "$gate_rc";;
esac

echo
echo "== development signing key (NOT for production) =="
export ASSAY_KEY_PASSPHRASE=${ASSAY_KEY_PASSPHRASE:-demo-only-passphrase}
if [ ! -f "$OUT/keys/cert.pem" ]; then
  "$BIN/assay" keys init --out "$OUT/keys" || exit 2
fi

status=0
for wf in $("$BIN/python" -c "import assay; print(' '.join(assay.load_project('examples').workflows))"); do
  echo
  echo "== pack + verify: $wf =="
  "$BIN/assay" pack --project examples --workflow "$wf" --as-of "$AS_OF" \
    --pkcs12 "$OUT/keys/signer.p12" --output "$OUT/packs/$wf.pdf" || { status=2; continue; }
  "$BIN/assay" verify "$OUT/packs/$wf.pdf" --trust "$OUT/keys/cert.pem" --reassess || status=3
done

echo
echo "Reports: $OUT/reports   Signed packs: $OUT/packs"
exit $status
