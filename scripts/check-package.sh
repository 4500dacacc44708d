#!/usr/bin/env bash
# Builds the Debian package and proves it on this machine:
#   lintian                  no error (warnings are printed; see README "Install")
#   dpkg -i                  installs; every shipped path is where Debian looks for it
#   the installed binary     --version; a dry run against a real Pushgateway on loopback
#   man -w                   the man pages (pushgateway-janitor, -restore) are found
#   systemd-analyze verify   the installed service and timer
#   dpkg --purge             removes it all, the conffile included
# Called by scripts/test.sh. Needs root (or sudo) for dpkg; a missing tool is
# installed with apt-get when possible and is otherwise an error.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== check-package: %s\n' "$*" >&2; }
die() { echo "check-package.sh: error: $*" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "dpkg -i needs root or sudo"
  sudo="sudo"
fi

need=()
command -v lintian >/dev/null 2>&1 || need+=(lintian)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ "${#need[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]} and no apt-get to install them"
  log "installing ${need[*]} with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
pgw=$(command -v prometheus-pushgateway || command -v pushgateway || true)
[ -n "${PUSHGATEWAY_BIN:-}" ] && pgw=$PUSHGATEWAY_BIN
[ -n "$pgw" ] || die "no Pushgateway binary (Debian package prometheus-pushgateway)"

deb=$(bash scripts/package-deb.sh | tail -n1)
[ -f "$deb" ] || die "scripts/package-deb.sh printed no .deb path"
log "built $deb ($(du -k "$deb" | cut -f1) KiB)"

log "lintian (no error allowed)"
lintian --fail-on error --allow-root --tag-display-limit 0 "$deb" >&2 || die "lintian reported errors"

if dpkg -s pushgateway-janitor >/dev/null 2>&1; then
  log "removing a pushgateway-janitor left installed before this check"
  $sudo dpkg --purge pushgateway-janitor >/dev/null
fi
work=$(mktemp -d)
pgw_pid=""
cleanup() {
  [ -n "$pgw_pid" ] && kill "$pgw_pid" 2>/dev/null && wait "$pgw_pid" 2>/dev/null
  if dpkg -s pushgateway-janitor >/dev/null 2>&1; then $sudo dpkg --purge pushgateway-janitor >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

log "dpkg -i"
$sudo dpkg -i "$deb" >&2
dpkg -L pushgateway-janitor >"$work/files"
for f in /usr/bin/pushgateway-janitor \
  /usr/share/man/man1/pushgateway-janitor.1.gz \
  /usr/share/man/man1/pushgateway-janitor-restore.1.gz \
  /usr/share/bash-completion/completions/pushgateway-janitor \
  /usr/share/zsh/vendor-completions/_pushgateway-janitor \
  /usr/share/fish/vendor_completions.d/pushgateway-janitor.fish \
  /usr/lib/systemd/system/pushgateway-janitor.service \
  /usr/lib/systemd/system/pushgateway-janitor.timer \
  /etc/default/pushgateway-janitor \
  /usr/share/doc/pushgateway-janitor/README.md.gz \
  /usr/share/doc/pushgateway-janitor/changelog.gz \
  /usr/share/doc/pushgateway-janitor/copyright \
  /usr/share/doc/pushgateway-janitor/examples/pushgateway-janitor.cron \
  $(for doc in docs/*.md; do echo "/usr/share/doc/pushgateway-janitor/docs/$(basename "$doc").gz"; done); do
  [ -f "$f" ] || die "not installed: $f"
done
dpkg-query -W -f='${Conffiles}\n' pushgateway-janitor | grep -q '/etc/default/pushgateway-janitor' ||
  die "/etc/default/pushgateway-janitor is not a conffile"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl is-enabled pushgateway-janitor.timer >/dev/null 2>&1 && die "the timer was enabled by the install"
fi

log "installed binary: $(/usr/bin/pushgateway-janitor --version)"
/usr/bin/pushgateway-janitor --version | grep -q "^pushgateway-janitor $(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)$" ||
  die "--version does not print the package's version"

log "a dry run against a real Pushgateway"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$pgw" --web.listen-address="127.0.0.1:$port" --persistence.file="$work/pgw.data" --log.level=warn >/dev/null 2>&1 &
pgw_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null || die "the Pushgateway did not start"
echo 'package_check 1' | curl -fsS --data-binary @- "http://127.0.0.1:$port/metrics/job/package-check/instance/h1"
# The group is less than a day old: with --threshold 1d it is kept, and a dry
# run sends nothing in any case.
/usr/bin/pushgateway-janitor --url "http://127.0.0.1:$port" --threshold 1d --dry-run --output json >"$work/report.json" ||
  die "the installed binary's dry run failed (exit $?)"
jq -e '.gateways[0].groups | length == 1' "$work/report.json" >/dev/null || die "the dry run did not see the pushed group"
curl -fsS "http://127.0.0.1:$port/api/v1/metrics" | jq -e '[.data[] | select(.labels.job == "package-check")] | length == 1' >/dev/null ||
  die "the group is gone after a dry run"

log "man -w pushgateway-janitor: $(man -w pushgateway-janitor)"
log "man -w pushgateway-janitor-restore: $(man -w pushgateway-janitor-restore)"

log "systemd-analyze verify (installed units)"
out=$(systemd-analyze verify /usr/lib/systemd/system/pushgateway-janitor.service /usr/lib/systemd/system/pushgateway-janitor.timer 2>&1) || {
  echo "$out" >&2
  die "systemd-analyze verify failed on the installed units"
}
[ -z "$out" ] || { echo "$out" >&2; die "systemd-analyze verify printed warnings"; }

log "dpkg --purge"
$sudo dpkg --purge pushgateway-janitor >&2
dpkg -s pushgateway-janitor >/dev/null 2>&1 && die "still installed after purge"
left=()
while IFS= read -r f; do
  [ -e "$f" ] || continue
  # A directory another package owns too (/usr/share/man/man1) stays.
  [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
  left+=("$f")
done <"$work/files"
[ -e /etc/default/pushgateway-janitor ] && left+=(/etc/default/pushgateway-janitor)
[ "${#left[@]}" -eq 0 ] || die "left after purge: ${left[*]}"
log "ok: installed, checked and purged ($(wc -l <"$work/files") paths)"
