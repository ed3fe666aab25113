#!/usr/bin/env bash
# Installs the Debian packages the tests and fixture builds use, when missing.
# Everything comes from Debian's archive; nothing is downloaded from elsewhere.
set -euo pipefail
need=()
for pair in aapt:aapt dexdump:dexdump apktool:apktool smali:libsmali-java zipalign:zipalign \
            apksigner:apksigner keytool:default-jdk-headless chromium:chromium; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
[ -f /usr/share/android-framework-res/framework-res.apk ] || need+=(android-framework-res)
# A CJK font embedded in PDF notices (public notification lists are in Chinese).
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root or install them)" >&2
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
