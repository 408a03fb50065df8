#!/usr/bin/env bash
# Debian packages the tests need that PyPI cannot provide: headless Chromium
# (and its driver) for the storefront's end-to-end test. Idempotent: does
# nothing when they are already installed. Without apt-get (macOS, other
# distributions) it only explains: the browser test then skips locally
# (and fails in CI, where CI is set).
set -euo pipefail
packages=(chromium chromium-driver)
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  if [ -x /usr/bin/chromium ]; then exit 0; fi
  echo "system-deps: no apt-get here; install Chromium as /usr/bin/chromium for the browser test" >&2
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "system-deps: please install: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 1
  fi
else SUDO=""; fi
echo "system-deps: installing ${missing[*]}"
# Wait for another apt/dpkg run (unattended upgrades, a parallel job) instead of failing on its lock.
lock_wait=(-o DPkg::Lock::Timeout=300)
$SUDO apt-get "${lock_wait[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${lock_wait[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
