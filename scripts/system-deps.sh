#!/usr/bin/env bash
# Debian packages the tests need that PyPI cannot provide: headless Chromium
# (and its driver) for the storefront's end-to-end test. Idempotent: does
# nothing when they are already installed.
set -euo pipefail
packages=(chromium chromium-driver)
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
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
