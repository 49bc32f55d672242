#!/usr/bin/env bash
# Installs the Debian 12 packages mpconform needs, only those missing.
# Root runs apt-get directly; anyone else goes through sudo.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libzmq3-dev cppzmq-dev libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev
  python3 python3-zmq python3-yaml python3-pytest python3-jsonschema tox
  pypy3 python3-billiard python3-multiprocess python3-joblib  # look-alikes of the matrix (loky: joblib.externals.loky)
  stress-ng
  chromium chromium-driver  # tests/runner/test_page.py renders the compatibility page headless
  clang-format  # tests: format.check (the one .clang-format)
  clang libclang-rt-14-dev  # tests/fuzz: libFuzzer (libclang_rt.fuzzer) with ASan+UBSan
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
  exit 0
fi
echo "install-deps: installing ${#missing[@]} of ${#packages[@]} packages (${missing[*]}): a few minutes on a fresh machine"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# -q, not silence: apt's progress shows that a long install is moving.
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
