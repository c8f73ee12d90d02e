#!/usr/bin/env bash
# `nginx -t` on deploy/nginx/nginx.conf (with locations.conf), as the proxy container would load it, using a
# throwaway self-signed certificate in a temporary folder. Skips, saying so, when nginx or openssl is missing
# (`bash .ci/nginx` installs nginx). Nothing listens: -t only parses and checks the configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
nginx_bin=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$nginx_bin" ]; then echo "SKIPPED: nginx is not installed (bash .ci/nginx installs it)"; exit 0; fi
if ! command -v openssl >/dev/null; then echo "SKIPPED: openssl is not installed (needed for a test certificate)"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/certs"
cp deploy/nginx/nginx.conf deploy/nginx/locations.conf "$work/"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=deploy-check.invalid \
    -keyout "$work/certs/privkey.pem" -out "$work/certs/fullchain.pem" 2>/dev/null
"$nginx_bin" -t -q -p "$work" -c "$work/nginx.conf" -e "$work/error.log" 2>&1
echo "ok ($("$nginx_bin" -v 2>&1 | sed 's/^nginx version: //'))"
