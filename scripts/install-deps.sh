#!/usr/bin/env bash
# Installs the Debian packages the build needs, if missing: SentencePiece and ICU, and any
# packages named as arguments (scripts/test.sh adds chromium, for the browser checks).
set -euo pipefail
packages=(libsentencepiece-dev libicu-dev "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
