#!/usr/bin/env bash
# Makes harness/page-screenshot.png, the picture of the compatibility page in the README: runs the
# cases for CPython (the system python3) and the C++ reference with --report, makes the page and
# its Markdown form with `mpconform page`, and has headless Chromium take a screenshot of the page.
#   bash scripts/page-screenshot.sh                               # builds build/ first (scripts/build.sh)
#   MPCONFORM_BUILD=/path/to/build bash scripts/page-screenshot.sh  # an existing build tree instead
#   MPCONFORM_RESULTS=matrix.json bash scripts/page-screenshot.sh   # the page of a results file made
#                                                                   # before (e.g. by --matrix), no run
# The page, its Markdown and the results file stay in BUILD/page/ (compatibility.html links to the
# case files of this checkout). Extra arguments go to mpconform (e.g. --jobs 2).
set -euo pipefail
cd "$(dirname "$0")/.."
top="$PWD"
if [ -n "${MPCONFORM_BUILD:-}" ]; then
  build="$(cd "$MPCONFORM_BUILD" && pwd)"
else
  bash scripts/build.sh mpconform mpconform-cpp-adapter
  build="$top/build"
fi
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "page-screenshot: no $chromium (bash scripts/install-deps.sh installs chromium)" >&2; exit 2; }
out="$build/page"
mkdir -p "$out"
if [ -n "${MPCONFORM_RESULTS:-}" ]; then
  results="$(cd "$(dirname "$MPCONFORM_RESULTS")" && pwd)/$(basename "$MPCONFORM_RESULTS")"
  echo "page-screenshot: the page of $results"
else
  results="$out/results.json"
  echo "page-screenshot: running the cases for cpython and cpp into $results"
  # Exit 1 means some case did not pass: the page shows which. 2 or more means no results file.
  rc=0
  "$build/harness/mpconform" --impl cpython --impl cpp --report "$results" "$@" >"$out/run.log" 2>&1 || rc=$?
  tail -n 1 "$out/run.log"
  if [ "$rc" -gt 1 ]; then
    cat "$out/run.log" >&2
    echo "page-screenshot: the run failed (exit $rc, output above)" >&2
    exit "$rc"
  fi
fi
"$build/harness/mpconform" page "$results" --html "$out/compatibility.html" --markdown "$out/compatibility.md"
echo "page-screenshot: wrote $out/compatibility.html and $out/compatibility.md"
sandbox=()
# Chromium refuses to start as root with its sandbox (it would need setuid helpers or user
# namespaces for root); the page it loads is the one just written here.
[ "$(id -u)" -eq 0 ] && sandbox=(--no-sandbox)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! timeout 120 "$chromium" --headless=new "${sandbox[@]}" --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --window-size=1280,1000 --screenshot="$top/harness/page-screenshot.png" "file://$out/compatibility.html" >"$log" 2>&1; then
  cat "$log" >&2
  echo "page-screenshot: chromium failed (output above)" >&2
  exit 1
fi
echo "page-screenshot: wrote harness/page-screenshot.png (1280x1000)"
