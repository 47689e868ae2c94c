#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only when missing:
# chromium + chromium-driver (Playwright drives Debian's browser; we never download one)
# a PostgreSQL server (integration tests run against a throwaway cluster), strace and systemd-analyze.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
# strace proves in a test that raw images are never written to disk.
command -v strace >/dev/null 2>&1 || need+=(strace)
# systemd-analyze verifies the units in deploy/ (tests/e2e/test_packaging.py); pg_dump/pg_restore come
# with the postgresql server package above (soberpay backup/restore on PostgreSQL).
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# CJK font so the Chinese pages render in browser screenshots.
ls /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc >/dev/null 2>&1 || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing Debian packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
