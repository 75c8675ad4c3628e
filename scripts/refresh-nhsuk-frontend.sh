#!/usr/bin/env bash
# Refreshes the vendored NHS.UK frontend in static/nhsuk-frontend/ from the npm package.
# Usage: scripts/refresh-nhsuk-frontend.sh [version]   (default: VERSION below)
#
# Copies the compiled, minified CSS, the minified JavaScript (an ES module) and the assets
# the pages use: the icons the stylesheet refers to, the favicons and the web app manifest.
# No source maps, Sass, Nunjucks or node_modules are kept.
#
# Our pages make no requests to other hosts, so the @font-face rules that load Frutiger
# from assets.nhs.uk are removed: text falls back to Arial, as the design system intends
# when the font is unavailable. The script fails if anything else in the CSS or JS still
# points at another host, or if the CSS needs an asset that was not copied.
#
# The stylesheet asks for its icons at /assets/images/…, so the server serves
# static/nhsuk-frontend/assets at /assets (and static/ at /static).
set -euo pipefail

VERSION="10.6.1"
VERSION="${1:-$VERSION}"

root="$(cd "$(dirname "$0")/.." && pwd)"
target="$root/static/nhsuk-frontend"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "nhsuk-frontend@$VERSION" >/dev/null && tar xzf nhsuk-frontend-*.tgz)
dist="$work/package/dist/nhsuk"

rm -rf "$target"
mkdir -p "$target/assets/images"

# CSS: drop the web fonts and the source map comment; check every url() stays on our host.
node - "$dist/nhsuk-frontend.min.css" "$target/nhsuk-frontend.min.css" "$work/css-assets" <<'JS'
const fs = require("fs");
const [from, to, list] = process.argv.slice(2);
const css = fs.readFileSync(from, "utf8")
  .replace(/@font-face\s*\{[^}]*\}/g, "")
  .replace(/\/\*#\s*sourceMappingURL=[^*]*\*\//g, "");
const urls = [...css.matchAll(/url\(\s*["']?([^"')]*)/g)].map((m) => m[1]);
const foreign = urls.filter((u) => !u.startsWith("/assets/") && !u.startsWith("data:"));
if (foreign.length || /@import|https?:\/\//i.test(css.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, ""))) {
  console.error("the stylesheet still refers to another host:", foreign);
  process.exit(1);
}
fs.writeFileSync(to, css);
fs.writeFileSync(list, [...new Set(urls.filter((u) => u.startsWith("/assets/")))].join("\n") + "\n");
JS

# JS: drop the source map comment; it must not fetch anything from another host.
sed -e 's|//# sourceMappingURL=.*||' "$dist/nhsuk-frontend.min.js" > "$target/nhsuk-frontend.min.js"
if grep -Eo 'https?://[^"'"'"' )]*' "$target/nhsuk-frontend.min.js" | grep -v '^http://www\.w3\.org/' >&2; then
  echo "the script refers to another host" >&2
  exit 1
fi

# Assets: the favicons linked from templates/base.html, the manifest and its icons,
# and every image the stylesheet refers to.
cp "$dist/assets/manifest.json" "$target/assets/manifest.json"
{
  printf '%s\n' images/favicon.ico images/favicon.svg images/nhsuk-icon-mask.svg images/nhsuk-icon-180.png
  node -e 'for (const i of require(process.argv[1]).icons) console.log(i.src)' "$target/assets/manifest.json"
  sed -n 's|^/assets/||p' "$work/css-assets"
} | sort -u | while read -r asset; do
  cp "$dist/assets/$asset" "$target/assets/$asset"
done

echo "$VERSION" > "$target/VERSION"
echo "nhsuk-frontend $VERSION vendored in static/nhsuk-frontend ($(du -sh "$target" | cut -f1), $(find "$target" -type f | wc -l) files)"
