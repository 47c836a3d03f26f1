#!/usr/bin/env bash
# Installs the Debian packages Assay's PDF pipeline, the Spark engine and their tests need.
# Guarded: a machine that already has them (or is not Debian) skips the step.
set -euo pipefail
need=()
command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)  # NSS trust db for pdfsig tests
# Without libharfbuzz-subset0 weasyprint stamps the current time into subset fonts,
# which makes the unsigned PDF non-reproducible.
# Read each listing whole: `grep -q` stops early, and under pipefail the writer's SIGPIPE
# would fail the test (and reinstall the packages on every run).
libs="$(ldconfig -p 2>/dev/null || true)"
fonts="$(fc-list 2>/dev/null || true)"
grep -q libharfbuzz-subset <<<"$libs" || need+=(libharfbuzz-subset0)
grep -q libpango-1.0 <<<"$libs" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
grep -qi "DejaVu Sans" <<<"$fonts" || need+=(fonts-dejavu-core fontconfig)
# Graphviz `dot` lays out the pack's control graph.
command -v dot >/dev/null 2>&1 || need+=(graphviz)
# SoftHSM2: a software PKCS#11 token, for the tests of signing with a key in an HSM.
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
# Java 17 or later for the Spark engine (`--engine spark`, PySpark 4).
java_major() {
  # awk reads all of java's output (an early exit would SIGPIPE java under pipefail).
  java -version 2>&1 | awk -F'"' '/version/ && !done { split($2, v, "."); print (v[1] == 1) ? v[2] : v[1]; done = 1 }'
}
major=""
if command -v java >/dev/null 2>&1; then major="$(java_major)"; fi
if [ -z "$major" ] || [ "$major" -lt 17 ]; then need+=(openjdk-17-jre-headless); fi
if ((${#need[@]} == 0)); then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: missing ${need[*]} and no apt-get; install them by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup-system: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
