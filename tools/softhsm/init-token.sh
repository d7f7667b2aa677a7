#!/usr/bin/env bash
# Creates a private SoftHSM2 token for the PKCS#11 tests; never touches the system token dir
# (/var/lib/softhsm/tokens): its own config is tools/softhsm/run/softhsm2.conf with the tokens
# in tools/softhsm/run/tokens.
#
# Usage:  eval "$(bash tools/softhsm/init-token.sh)"          # idempotent: keeps an existing token
#         bash tools/softhsm/init-token.sh --fresh            # delete and re-create the token
#         bash tools/softhsm/init-token.sh --install          # apt-get install softhsm2 opensc if missing (root)
# Stdout: only `export NAME='value'` lines (SOFTHSM2_CONF, PKCS11_MODULE, HSM_TOKEN_LABEL, HSM_PIN,
# HSM_SO_PIN); messages go to stderr. The same lines are written to run/env.sh, and run/env.json
# holds them for Node.
#
# Env (optional): HSM_TOKEN_LABEL (devid-test), HSM_PIN (1234), HSM_SO_PIN (12345678),
#   PKCS11_MODULE (found by itself), SOFTHSM_RUN_DIR (tools/softhsm/run).
# The default PINs are test fixtures for a throwaway software token, not secrets.
set -euo pipefail

say() { echo "softhsm: $*" >&2; }
die() { echo "softhsm: error: $*" >&2; exit 1; }

FRESH=0 INSTALL=0
for arg in "$@"; do
  case "$arg" in
    --fresh) FRESH=1 ;;
    --install) INSTALL=1 ;;
    -h|--help) sed -n '2,16p' "$0" >&2; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

TOOL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN_DIR="${SOFTHSM_RUN_DIR:-$TOOL_DIR/run}"
CONF="$RUN_DIR/softhsm2.conf"
TOKEN_DIR="$RUN_DIR/tokens"
LABEL="${HSM_TOKEN_LABEL:-devid-test}"
PIN="${HSM_PIN:-1234}"
SO_PIN="${HSM_SO_PIN:-12345678}"

# SoftHSM: PIN 4..255 bytes. Labels are at most 32 bytes (CK_TOKEN_INFO.label).
((${#PIN} >= 4)) || die "HSM_PIN must have at least 4 characters"
((${#SO_PIN} >= 4)) || die "HSM_SO_PIN must have at least 4 characters"
((${#LABEL} >= 1 && ${#LABEL} <= 32)) || die "HSM_TOKEN_LABEL must have 1..32 characters"

if [[ $INSTALL == 1 ]] && ! { command -v softhsm2-util && command -v pkcs11-tool; } >/dev/null; then
  [[ $(id -u) == 0 ]] || die "--install needs root"
  say "installing softhsm2 opensc (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q softhsm2 opensc >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q softhsm2 opensc >&2; } \
    || die "apt-get install softhsm2 opensc failed"
fi
command -v softhsm2-util >/dev/null || die "softhsm2-util not found: apt-get install softhsm2 (or run with --install)"

find_module() {
  local c
  for c in "${PKCS11_MODULE:-}" \
           /usr/lib/softhsm/libsofthsm2.so \
           "/usr/lib/$(uname -m)-linux-gnu/softhsm/libsofthsm2.so" \
           /usr/lib64/softhsm/libsofthsm2.so /usr/lib64/pkcs11/libsofthsm2.so \
           /usr/local/lib/softhsm/libsofthsm2.so /opt/homebrew/lib/softhsm/libsofthsm2.so; do
    [[ -n "$c" && -f "$c" ]] && { readlink -f "$c"; return 0; }
  done
  return 1
}
MODULE="$(find_module)" || die "libsofthsm2.so not found (set PKCS11_MODULE)"

mkdir -p "$TOKEN_DIR"
chmod 700 "$RUN_DIR" "$TOKEN_DIR"
exec 9>"$RUN_DIR/.init.lock"
flock -w 60 9 || die "another init-token.sh holds $RUN_DIR/.init.lock"

cat >"$CONF" <<CONF
# written by tools/softhsm/init-token.sh; private to this checkout
directories.tokendir = $TOKEN_DIR/
objectstore.backend = file
log.level = ERROR
slots.removable = false
slots.mechanisms = ALL
library.reset_on_fork = false
CONF
export SOFTHSM2_CONF="$CONF"

token_exists() {
  softhsm2-util --show-slots 2>/dev/null \
    | awk -v l="$LABEL" -F': *' '$1 ~ /^ *Label$/ { sub(/ +$/, "", $2); if ($2 == l) found = 1 } END { exit !found }'
}

if [[ $FRESH == 1 ]] && token_exists; then
  softhsm2-util --delete-token --token "$LABEL" >&2 || die "could not delete token '$LABEL'"
  say "deleted token '$LABEL'"
fi

if token_exists; then
  say "token '$LABEL' exists (kept; --fresh re-creates it)"
else
  softhsm2-util --init-token --free --label "$LABEL" --so-pin "$SO_PIN" --pin "$PIN" >&2 \
    || die "softhsm2-util --init-token failed"
  say "token '$LABEL' initialised in $TOKEN_DIR"
fi

# The user PIN must open the token, else the exported HSM_PIN would lie (e.g. an old token
# made with other PINs).
if command -v pkcs11-tool >/dev/null; then
  pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin "$PIN" --list-objects >/dev/null 2>&1 \
    || die "HSM_PIN does not open token '$LABEL' (made with other PINs? re-run with --fresh)"
fi

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
env_lines="export SOFTHSM2_CONF=$(q "$CONF")
export PKCS11_MODULE=$(q "$MODULE")
export HSM_TOKEN_LABEL=$(q "$LABEL")
export HSM_PIN=$(q "$PIN")
export HSM_SO_PIN=$(q "$SO_PIN")"
echo "$env_lines" >"$RUN_DIR/env.sh"
json_str() { local s="${1//\\/\\\\}"; s="${s//\"/\\\"}"; printf '"%s"' "$s"; }
printf '{"SOFTHSM2_CONF":%s,"PKCS11_MODULE":%s,"HSM_TOKEN_LABEL":%s,"HSM_PIN":%s,"HSM_SO_PIN":%s}\n' \
  "$(json_str "$CONF")" "$(json_str "$MODULE")" "$(json_str "$LABEL")" "$(json_str "$PIN")" "$(json_str "$SO_PIN")" \
  >"$RUN_DIR/env.json"
echo "$env_lines"
