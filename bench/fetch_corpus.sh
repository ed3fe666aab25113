#!/usr/bin/env bash
# Real-world APKs that nobody on this project built, for `make bench`: apps that packages on
# the registries this project may use ship to drive devices.
#   npm:  Appium's UiAutomator2 server (+ its test APK) and Appium Settings (multidex
#         Kotlin/Java code with many libraries);
#   PyPI: NetEase's Yosemite (airtest) and Poco service (pocoui), openatx's uiautomator app
#         (uiautomator2): Chinese vendors' builds, multidex, one 24 MB APK.
# The files land in bench/corpus/ (not committed); a stamp records which set is there.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus
stamp=corpus/.fetched-v2
[ -e "$stamp" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
complete=1  # the stamp is written only when every source came through, so a later run retries

if command -v npm >/dev/null; then
  for pkg in appium-uiautomator2-server@10.6.6 io.appium.settings@8.0.10; do
    (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>&1) || {
      echo "could not fetch $pkg" >&2
      complete=0
    }
  done
  for tgz in "$tmp"/*.tgz; do
    [ -e "$tgz" ] || continue
    d=$(mktemp -d -p "$tmp")
    tar xzf "$tgz" -C "$d"
    find "$d" -name '*.apk' -exec cp {} corpus/ \;
  done
else
  echo "npm not found: no Appium APKs" >&2
  complete=0
fi

PY=${PY:-python3}
mkdir -p "$tmp/pypi"
for pkg in uiautomator2==3.7.1 airtest==1.4.3 pocoui==1.0.94; do
  "$PY" -m pip download -q --no-deps "$pkg" -d "$tmp/pypi" >/dev/null 2>&1 || {
    echo "could not fetch $pkg from PyPI" >&2
    complete=0
  }
done
for archive in "$tmp"/pypi/*; do
  [ -e "$archive" ] || continue
  d=$(mktemp -d -p "$tmp")
  case "$archive" in
    *.whl | *.zip) "$PY" -m zipfile -e "$archive" "$d" ;;
    *.tar.gz) tar xzf "$archive" -C "$d" ;;
  esac
  find "$d" -name '*.apk' -exec cp {} corpus/ \;
done

[ "$complete" = 1 ] && touch "$stamp"
ls -la corpus
