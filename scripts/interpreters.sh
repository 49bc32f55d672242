#!/usr/bin/env bash
# Says which conformance.* tests a configured build tree will run (what tests/CMakeLists.txt
# found when it was configured) and which parts of the matrix are missing, and why.
#   bash scripts/interpreters.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
mapfile -t tests < <(ctest --test-dir "$build" -N -R '^conformance\.' | sed -n 's/^ *Test *#[0-9]*: //p')
echo "interpreters: ${#tests[@]} conformance tests: ${tests[*]:-none}"
for minor in 8 9 10 11 12 13; do
  if ! printf '%s\n' "${tests[@]}" | grep -q "^conformance\.cpython_3\.$minor\.[0-9]*$"; then
    if [ ! -d "$pyenv_root/versions" ]; then
      why="pyenv not found ($pyenv_root/versions)"
    else
      why="pyenv has no 3.$minor in $pyenv_root/versions"
    fi
    echo "interpreters: not run: conformance.cpython_3.$minor.x ($why; install it with pyenv, then reconfigure: cmake -S . -B $build)"
  fi
done
if ! printf '%s\n' "${tests[@]}" | grep -q '^conformance\.pypy3$'; then
  echo "interpreters: not run: conformance.pypy3 (pypy3 not found on PATH when $build was configured)"
fi
if [ -d "$pyenv_root/versions" ]; then
  for v in "$pyenv_root"/versions/*; do
    case "$(basename "$v")" in
      2.*|3.[0-7].*) echo "interpreters: not in the matrix: $(basename "$v") in $pyenv_root/versions (older than the spec's 3.8)" ;;
    esac
  done
fi
# The adapter's own end-to-end tests (tests/python/test_end_to_end.py) skip, rather than fail,
# under the exact pyenv versions they name when those are missing.
missing=()
for v in 3.8.18 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
  [ -e "$pyenv_root/versions/$v/bin/python" ] || missing+=("$v")
done
command -v pypy3 >/dev/null || missing+=(pypy3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "interpreters: python_adapter skips its end-to-end sessions under ${missing[*]} (not installed)"
fi
