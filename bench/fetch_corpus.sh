#!/usr/bin/env bash
# Real-world APKs that nobody on this project built, for `make bench`: apps that npm
# packages ship (Appium's UiAutomator2 server and Settings app: multidex Kotlin/Java
# code with many libraries). npm is one of the registries this project may use; the
# files land in bench/corpus/ (not committed).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus
[ -n "$(ls corpus/*.apk 2>/dev/null)" ] && exit 0
command -v npm >/dev/null || { echo "npm not found: benchmark runs on the bundled samples only" >&2; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pkg in appium-uiautomator2-server@10.6.6 io.appium.settings@8.0.10; do
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) || { echo "could not fetch $pkg" >&2; continue; }
done
for tgz in "$tmp"/*.tgz; do
  [ -e "$tgz" ] || continue
  d=$(mktemp -d -p "$tmp")
  tar xzf "$tgz" -C "$d"
  find "$d" -name '*.apk' -exec cp {} corpus/ \;
done
ls -la corpus
