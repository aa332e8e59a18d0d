#!/usr/bin/env bash
# The README's two commands on a truly fresh Debian 12, before a release:
#   sudo bash scripts/fresh-root-check.sh                 # command 2 runs the whole suite
#   sudo bash scripts/fresh-root-check.sh -m browser -x   # command 2 with these pytest arguments
# A minimal Debian 12 root (debootstrap --variant=minbase bookworm) gets only `python3`, the
# repository's committed HEAD (git archive; FRESH_ROOT_REF=<commit> for another) and /proc, /dev,
# /dev/shm, /dev/pts. Inside it, command 1 (`bash scripts/run.sh`, on a free port) must answer /healthz with
# 200, then command 2 (`bash scripts/test.sh ARGS`, with MODULEGAZE_REQUIRE_SERVICES=1) must pass.
# The root shares this machine's network, so the tests reach PostgreSQL on 127.0.0.1:5432 here.
# Debian packages come from the mirror this machine's apt is configured with (`apt-cache policy`).
# Needs root. FRESH_ROOT_DIR=<folder> builds the root there; FRESH_ROOT_KEEP=1 keeps it afterwards.
set -euo pipefail
{ # read whole before it runs: a checkout or an edit during a long check does not change what runs
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf '[fresh-root] %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount): sudo bash scripts/fresh-root-check.sh"
command -v git >/dev/null || die "needs git (the repository is copied in with git archive)"
ref=$(git rev-parse --verify "${FRESH_ROOT_REF:-HEAD}^{commit}") || die "no commit ${FRESH_ROOT_REF:-HEAD}"
[ -z "$(git status --porcelain)" ] || say "note: uncommitted changes are not checked (the root gets $ref)"

# ----------------------------------------------------------------- the mirror, from the host's apt

debian_sources() {  # "URI SUITE" for the bookworm suites of Debian's main component apt knows
  apt-cache policy 2>/dev/null |
    awk '$1 ~ /^-?[0-9]+$/ && $2 ~ /^[a-z+]+:\/\// && $3 ~ /^bookworm(-updates|-security)?\/main$/ {
           sub(/\/main$/, "", $3); print $2, $3 }' | sort -u
}
sources=$(debian_sources)
if ! grep -q ' bookworm$' <<<"$sources"; then
  apt-get update -qq
  sources=$(debian_sources)
fi
mirror=$(awk '$2 == "bookworm" { print $1; exit }' <<<"$sources")
[ -n "$mirror" ] || die "this machine's apt has no Debian 12 (bookworm) main source to build the root from"
if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# --------------------------------------------------------------------- the root and its clean-up

root=${FRESH_ROOT_DIR:-$(mktemp -d /var/tmp/modulegaze-fresh-root.XXXXXX)}
mkdir -p "$root"
[ -z "$(ls -A "$root")" ] || die "$root is not empty: give FRESH_ROOT_DIR an empty or new folder"
chmod 755 "$root"  # it is / in the root: mktemp's 700 would shut out every user but root (_apt, nobody)
app_pid=""

in_root_pids() {  # processes whose root directory is ours: started by this check
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}

cleanup() {
  set +e
  [ -n "$app_pid" ] && kill -TERM -- "-$app_pid" 2>/dev/null
  local pids m
  mapfile -t pids < <(in_root_pids)
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null
    sleep 2
    mapfile -t pids < <(in_root_pids)
    ((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
    sleep 1
  fi
  # /dev/pts, /dev/shm, /dev, /proc and whatever a test left mounted in the root, deepest first
  for m in $(findmnt -rn -o TARGET | grep "^$root/" | sort -r); do
    umount "$m" || umount -l "$m"
  done
  if [ "${FRESH_ROOT_KEEP:-0}" = 1 ]; then
    say "kept $root"
  elif findmnt -rn -o TARGET | grep -q "^$root/"; then
    say "something is still mounted under $root: left in place"
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Inside the root: a clean environment, as on a machine just installed, and Debian's own tools.
# pip there uses the CA bundle this machine's Python trusts, copied in: a network that reaches
# PyPI only through a TLS-inspecting proxy has its CA there, and pip's own list does not know it.
run_in_root() {
  env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    ${pip_cert:+PIP_CERT=$pip_cert} chroot "$root" "$@"
}

started=$SECONDS
say "debootstrap --variant=minbase bookworm $root ($mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
  { tail -n 20 "$root.debootstrap.log" >&2; die "debootstrap failed (log: $root.debootstrap.log)"; }
rm -f "$root.debootstrap.log"
awk '{ print "deb " $1 " " $2 " main" }' <<<"$sources" >"$root/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"  # packages start no daemon in the root
chmod 755 "$root/usr/sbin/policy-rc.d"
pip_cert=""
host_ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")' 2>/dev/null || true)
if [ -n "$host_ca" ] && [ -f "$host_ca" ]; then
  cp "$host_ca" "$root/etc/fresh-root-check-ca.pem"
  pip_cert=/etc/fresh-root-check-ca.pem
fi

mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --make-rslave "$root/dev"  # nothing mounted below it reaches this machine's /dev
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"  # apt's dpkg log wants a pty

say "apt-get install python3 (and nothing else)"
run_in_root apt-get update -qq
run_in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
mkdir -p "$root/root/modulegaze"
git -C "$repo" archive "$ref" | tar -x -C "$root/root/modulegaze"
say "root ready after $((SECONDS - started)) s: $(run_in_root python3 --version), commit $(git rev-parse --short "$ref")"

# ------------------------------------------------------------------ command 1: bash scripts/run.sh

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
run_log="$root/root/run.log"
say "command 1: bash scripts/run.sh (MODULEGAZE_PORT=$port; output in $run_log while it runs)"
t1=$SECONDS
setsid env -i HOME=/root LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${pip_cert:+PIP_CERT=$pip_cert} MODULEGAZE_PORT="$port" \
  chroot "$root" bash -c 'cd /root/modulegaze && exec bash scripts/run.sh' >"$run_log" 2>&1 </dev/null &
app_pid=$!
status() {  # HTTP status of a path on the app, or 000
  python3 - "$port" "$1" <<'EOF'
import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5).status)
except urllib.error.HTTPError as exc:
    print(exc.code)
except Exception:
    print("000")
EOF
}
cmd1="FAIL"
cmd1_detail="no answer on /healthz within ${FRESH_ROOT_RUN_WAIT:-900} s"
while ((SECONDS - t1 < ${FRESH_ROOT_RUN_WAIT:-900})); do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    cmd1_detail="run.sh exited before answering"
    break
  fi
  code=$(status /healthz)
  if [ "$code" = 200 ] && [ "$(status /login)" = 200 ]; then
    cmd1="PASS"
    cmd1_detail="/healthz and /login answered 200 after $((SECONDS - t1)) s"
    break
  fi
  sleep 2
done
if [ "$cmd1" = FAIL ]; then
  tail -n 30 "$run_log" >&2
fi
kill -TERM -- "-$app_pid" 2>/dev/null || true
for _ in $(seq 1 20); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.5; done
kill -KILL -- "-$app_pid" 2>/dev/null || true
wait "$app_pid" 2>/dev/null || true
app_pid=""
say "command 1: $cmd1 ($cmd1_detail)"

# ----------------------------------------------------------------- command 2: bash scripts/test.sh

cmd2="FAIL"
cmd2_detail="not run: command 1 failed"
if [ "$cmd1" = PASS ]; then
  say "command 2: bash scripts/test.sh $*"
  t2=$SECONDS
  set +e
  run_in_root env MODULEGAZE_REQUIRE_SERVICES="${MODULEGAZE_REQUIRE_SERVICES:-1}" \
    bash -c 'cd /root/modulegaze && exec bash scripts/test.sh "$@"' test.sh "$@"
  rc=$?
  set -e
  [ "$rc" -eq 0 ] && cmd2="PASS"
  cmd2_detail="exit status $rc after $((SECONDS - t2)) s"
fi

echo
echo "Fresh Debian 12 root (minbase + python3), commit $(git rev-parse --short "$ref"):"
echo "  command 1  bash scripts/run.sh              $cmd1  ($cmd1_detail)"
echo "  command 2  bash scripts/test.sh $*  $cmd2  ($cmd2_detail)"
if [ "$cmd1" = PASS ] && [ "$cmd2" = PASS ]; then
  echo "FRESH ROOT CHECK: PASS"
  exit 0
fi
echo "FRESH ROOT CHECK: FAIL"
exit 1
}
