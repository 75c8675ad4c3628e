#!/usr/bin/env bash
# Refreshes the vendored axe-core in tests/browser/vendor/ from the npm package.
# Usage: scripts/refresh-axe-core.sh [version]   (default: VERSION below)
#
# axe-core is test-only: the browser tests (tests/browser/) inject axe.min.js into every page
# they visit and fail on any WCAG 2.0/2.1/2.2 A or AA violation. It is never served by the app.
# Its licence (MPL-2.0) and the notices of what it bundles are kept beside it.
set -euo pipefail

VERSION="4.14.1"
VERSION="${1:-$VERSION}"

root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/tests/browser/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "axe-core@$VERSION" >/dev/null && tar xzf axe-core-*.tgz)

mkdir -p "$target"
cp "$work/package/axe.min.js" "$target/axe.min.js"
cp "$work/package/LICENSE" "$target/axe-core-LICENSE"
cp "$work/package/LICENSE-3RD-PARTY.txt" "$target/axe-core-LICENSE-3RD-PARTY.txt"
printf '%s\n' "$VERSION" > "$target/axe-core-VERSION"
echo "axe-core $VERSION copied to $target"
