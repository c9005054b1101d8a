#!/usr/bin/env bash
# Installs the pages' npm packages from package-lock.json (hls.js for the
# viewer; playwright-core, puppeteer-core (Firefox over WebDriver BiDi), axe-core, ajv
# and ws for the browser tests) and copies the player library
# into web-client/vendor/, which jobcastd serves like any page file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "web-deps: npm is missing (Node.js 18+ with npm is required)" >&2
  exit 1
fi
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.lock-sum ] || [ "$(cat node_modules/.lock-sum)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.lock-sum
fi
mkdir -p web-client/vendor
# The light build (no subtitles/DRM) is enough for our playlists; drop the
# source-map comment so browsers do not ask for a file we do not ship.
sed '/^\/\/# sourceMappingURL=/d' node_modules/hls.js/dist/hls.light.min.mjs > web-client/vendor/hls.light.min.mjs.tmp
mv web-client/vendor/hls.light.min.mjs.tmp web-client/vendor/hls.light.min.mjs
cp node_modules/hls.js/LICENSE web-client/vendor/hls.js.LICENSE.txt
echo "web-deps: hls.js $(node -p "require('./node_modules/hls.js/package.json').version") in web-client/vendor/"
