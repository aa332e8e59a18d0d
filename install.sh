#!/usr/bin/env bash
# Install Module Gaze as the systemd service `cdnmodulegaze` (Debian / Raspberry Pi OS). Run as root:
#
#   sudo bash install.sh             install or upgrade, then (re)start the service
#   sudo bash install.sh --uninstall remove the service and /opt/modulegaze (data, logs, settings stay)
#
# Safe to run again: the app and its virtualenv are refreshed, /etc/modulegaze/env is only written
# when it does not exist yet. The installer never runs the app itself (and never as root); over
# upstream's cdn-module-gaze it runs `main.py import-logs` once, as the service user.
set -euo pipefail

UNIT_NAME="cdnmodulegaze.service"
SERVICE_USER="modulegaze"
JOURNAL_GROUP="systemd-journal"
DEFAULT_PORT="3002"
APT_PACKAGES=(python3 python3-venv python3-pip)
APP_ITEMS=(main.py gaze pages components requirements.txt)
# Where oc4d keeps its module folders: our defaults, then where upstream's own unit runs oc4d.
UPLOADS_ROOTS=(
  /oc4d-server/workspaces/website/uploads/modules
  /var/www/oc4d.cdn/uploads/modules
  /home/pi/oc4d-server/workspaces/website/uploads/modules
)
# oc4d's env file (its DATABASE_URL gives module and user names; we only read that database).
OC4D_ENV_FILES=(
  /oc4d-server/.env
  /oc4d-server/workspaces/server/.env
  /home/pi/oc4d-server/.env
  /home/pi/oc4d-server/workspaces/server/.env
)
HEALTH_WAIT_S=20
PORT_WAIT_S=30 # for upstream's port to be free once it is stopped

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<'EOF'
Usage: sudo bash install.sh [options]

Installs Module Gaze into /opt/modulegaze (app + virtualenv), creates the system user `modulegaze`
(member of `systemd-journal`, so it reads oc4d's journal without root), /var/lib/modulegaze (state),
/var/log/modulegaze (session logs), /etc/modulegaze/env (settings, only if absent) and the systemd
unit cdnmodulegaze.service, then enables and (re)starts it and waits for /healthz.

Options:
  --prefix DIR   install into the staging root DIR instead of / (files only: no apt, no user or
                 ownership changes, no systemctl; paths in the unit and env file point into DIR)
  --no-systemd   lay the files down but do not call systemctl
  --no-apt       do not install python3 / python3-venv / python3-pip with apt-get
  --oc4d-env FILE  oc4d's env file to take DATABASE_URL from (default: the first that exists of
                 /oc4d-server/.env, /home/pi/oc4d-server/.env and their workspaces/server/.env)
  --uninstall    stop, disable and remove the unit and /opt/modulegaze; keeps /var/lib/modulegaze,
                 /var/log/modulegaze, /etc/modulegaze and the modulegaze user
  -h, --help     this text
EOF
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

PREFIX="/"
USE_SYSTEMD=1
USE_APT=1
UNINSTALL=0
while (($#)); do
  case "$1" in
    --prefix)
      (($# >= 2)) || die "--prefix needs a directory"
      PREFIX="$2"
      shift 2
      ;;
    --prefix=*)
      PREFIX="${1#--prefix=}"
      shift
      ;;
    --no-systemd)
      USE_SYSTEMD=0
      shift
      ;;
    --no-apt)
      USE_APT=0
      shift
      ;;
    --oc4d-env)
      (($# >= 2)) || die "--oc4d-env needs a file"
      OC4D_ENV_FILES=("$2")
      shift 2
      ;;
    --uninstall)
      UNINSTALL=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown option: $1"
      ;;
  esac
done

# ROOT is "" for a real install, else the absolute staging directory (no trailing slash).
[ -n "$PREFIX" ] || die "--prefix must not be empty"
if [ "$(realpath -m -- "$PREFIX")" = "/" ]; then
  ROOT=""
else
  ROOT="$(realpath -m -- "$PREFIX")"
  # The paths end up in a unit file, where spaces and quotes would need escaping: keep them plain.
  [[ "$ROOT" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "--prefix: use a path of letters, digits and ._/+- only (got $ROOT)"
  mkdir -p -- "$ROOT"
  USE_SYSTEMD=0
  USE_APT=0
fi
STAGING=0
[ -z "$ROOT" ] || STAGING=1

OPT_DIR="$ROOT/opt/modulegaze"
APP_DIR="$OPT_DIR/app"
VENV_DIR="$OPT_DIR/venv"
STATE_DIR="$ROOT/var/lib/modulegaze"
LOG_DIR="$ROOT/var/log/modulegaze"
ETC_DIR="$ROOT/etc/modulegaze"
ENV_FILE="$ETC_DIR/env"
UNIT_DIR="$ROOT/etc/systemd/system"
UNIT_FILE="$UNIT_DIR/$UNIT_NAME"
UPSTREAM_NOTE="$ETC_DIR/upstream" # the folder of the upstream app this install replaced

if ((!STAGING)) && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo bash install.sh), or use --prefix DIR for a staging install"
fi
if ((USE_SYSTEMD)) && [ ! -d /run/systemd/system ]; then
  die "systemd is not running here; use --no-systemd to lay the files down only"
fi

# ---------------------------------------------------------------------------------------- uninstall

if ((UNINSTALL)); then
  if ((USE_SYSTEMD)); then
    if systemctl cat "$UNIT_NAME" >/dev/null 2>&1; then
      say "stopping and disabling $UNIT_NAME"
      systemctl disable --now "$UNIT_NAME" || warn "could not stop/disable $UNIT_NAME"
    fi
  fi
  if [ -e "$UNIT_FILE" ]; then
    say "removing $UNIT_FILE"
    rm -f -- "$UNIT_FILE"
  fi
  if ((USE_SYSTEMD)); then
    systemctl daemon-reload
    systemctl reset-failed "$UNIT_NAME" >/dev/null 2>&1 || true
  fi
  if [ -e "$OPT_DIR" ]; then
    say "removing $OPT_DIR"
    rm -rf -- "$OPT_DIR"
  fi
  say "kept $STATE_DIR (database), $LOG_DIR (session logs), $ETC_DIR (settings)$( ((STAGING)) || printf ' and the %s user' "$SERVICE_USER")"
  say "remove them by hand if they are no longer wanted"
  if [ -f "$UPSTREAM_NOTE" ]; then
    say "the earlier cdn-module-gaze (upstream) is NOT brought back: its unit was replaced by ours"
    say "to run it again, reinstall it from its folder: cd $(head -n 1 "$UPSTREAM_NOTE") && sudo bash install.sh"
  fi
  exit 0
fi

# ------------------------------------------------------------------------------------------ install

for item in main.py requirements.txt "systemd/$UNIT_NAME"; do
  [ -f "$SRC/$item" ] || die "run install.sh from the Module Gaze source tree ($SRC/$item is missing)"
done

# 0. Upstream (ComDevNet/cdn-module-gaze): same unit name and port 3002; its unit runs bun/next from
# its folder as root. Found by its unit file (ours runs /opt/modulegaze/venv/bin/python).
upstream_dir=""
if [ -f "$UNIT_FILE" ] && ! grep -q '/opt/modulegaze/' "$UNIT_FILE" &&
  grep -Eq '^[[:space:]]*ExecStart=.*(bun|next|node)|cdn-module-gaze' "$UNIT_FILE"; then
  upstream_dir="$(sed -n -E 's/^[[:space:]]*WorkingDirectory=[-]?(.*[^[:space:]])[[:space:]]*$/\1/p' "$UNIT_FILE" | tail -n 1)"
  upstream_dir="${upstream_dir:-/home/pi/cdn-module-gaze}"
  say "found upstream's cdn-module-gaze ($UNIT_FILE runs it from $upstream_dir): Module Gaze replaces it"
  say "its log folder $LOG_DIR and the files in it are kept as they are; their sessions go into the history"
  upstream_logs="$(sed -n -E 's/^[[:space:]]*Environment="?MODULEFETCH_LOG_DIR=([^" ]+).*/\1/p' "$UNIT_FILE" | tail -n 1)"
  if [ -n "$upstream_logs" ] && [ "$upstream_logs" != "${LOG_DIR#"$ROOT"}" ]; then
    warn "upstream wrote its session logs to $upstream_logs, not ${LOG_DIR#"$ROOT"}: those files are not taken over (move them into ${LOG_DIR#"$ROOT"} before the service starts)"
  fi
fi

# 1. Python (only what is missing).
if ((USE_APT)); then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# Debian's interpreter for the service (a pyenv or other per-user Python would be hidden from it).
if [ -x /usr/bin/python3 ]; then
  PYTHON=/usr/bin/python3
else
  PYTHON="$(command -v python3 || true)"
  [ -n "$PYTHON" ] || die "python3 is missing (run without --no-apt, or apt-get install python3 python3-venv)"
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "Module Gaze needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)"

# 2. The service account: a system user without login, in the journal readers' group.
if ((!STAGING)); then
  if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
    say "creating system user $SERVICE_USER"
    group_opt=(--user-group)
    if getent group "$SERVICE_USER" >/dev/null; then
      group_opt=(--gid "$SERVICE_USER")
    fi
    nologin="$(command -v nologin || echo /usr/sbin/nologin)"
    useradd --system "${group_opt[@]}" --home-dir /var/lib/modulegaze --no-create-home \
      --shell "$nologin" --comment "Module Gaze" "$SERVICE_USER"
  fi
  if getent group "$JOURNAL_GROUP" >/dev/null; then
    if [[ " $(id -nG "$SERVICE_USER") " != *" $JOURNAL_GROUP "* ]]; then
      say "adding $SERVICE_USER to $JOURNAL_GROUP"
      usermod -a -G "$JOURNAL_GROUP" "$SERVICE_USER"
    fi
  else
    warn "group $JOURNAL_GROUP does not exist: $SERVICE_USER cannot read the journal"
  fi
fi

# 3. Directories.
make_dir() { # make_dir MODE OWNER DIR  (OWNER ignored for a staging install)
  if ((STAGING)) || [ "$2" = "root" ]; then
    install -d -m "$1" -- "$3"
  else
    install -d -m "$1" -o "$2" -g "$2" -- "$3"
  fi
}
make_dir 0755 root "$OPT_DIR"
make_dir 0700 "$SERVICE_USER" "$STATE_DIR"
make_dir 0755 "$SERVICE_USER" "$LOG_DIR"
make_dir 0755 root "$ETC_DIR"
make_dir 0755 root "$UNIT_DIR"

# 4. The app: a fresh copy (no caches, tests, venvs or data), swapped in whole.
say "copying the app to $APP_DIR"
new_app="$OPT_DIR/.app.new"
old_app="$OPT_DIR/.app.old"
rm -rf -- "$new_app" "$old_app"
install -d -m 0755 -- "$new_app"
tar -C "$SRC" --exclude=__pycache__ --exclude='*.py[co]' --exclude=tests --exclude=.venv --exclude=data \
  -cf - "${APP_ITEMS[@]}" | tar -C "$new_app" --no-same-owner -xf -
chmod -R u=rwX,go=rX -- "$new_app"
if [ -e "$APP_DIR" ]; then
  mv -- "$APP_DIR" "$old_app"
fi
mv -- "$new_app" "$APP_DIR"
rm -rf -- "$old_app"

# 5. The virtualenv: kept while its interpreter still runs (and is the same Python), else rebuilt.
want_version="$("$PYTHON" -c 'import sys; print(*sys.version_info[:2])')"
have_version="$("$VENV_DIR/bin/python" -c 'import sys; print(*sys.version_info[:2])' 2>/dev/null || true)"
if [ "$have_version" != "$want_version" ]; then
  say "creating the virtualenv $VENV_DIR"
  rm -rf -- "$VENV_DIR"
  "$PYTHON" -m venv "$VENV_DIR"
fi
say "installing requirements (pip)"
"$VENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
  -r "$APP_DIR/requirements.txt"
chmod -R go+rX,go-w -- "$VENV_DIR"

# 6. Settings: written once; an admin's edits are never overwritten.
if [ -e "$ENV_FILE" ]; then
  say "keeping $ENV_FILE"
else
  say "writing $ENV_FILE"
  uploads_root="${UPLOADS_ROOTS[0]}"
  for candidate in "${UPLOADS_ROOTS[@]}"; do
    if [ -d "$candidate" ]; then
      uploads_root="$candidate"
      break
    fi
  done
  # oc4d's DATABASE_URL, as its env file has it (one optional pair of quotes removed). Values that
  # a systemd EnvironmentFile would read differently (spaces, quotes, backslashes) are not copied.
  oc4d_env=""
  oc4d_url=""
  for candidate in "${OC4D_ENV_FILES[@]}"; do
    if [ -f "$candidate" ] && [ -r "$candidate" ]; then
      oc4d_env="$candidate"
      break
    fi
  done
  if [ -n "$oc4d_env" ]; then
    oc4d_url="$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?DATABASE_URL[[:space:]]*=[[:space:]]*(.*)$/\2/p' "$oc4d_env" |
      tail -n 1 | sed -E 's/[[:space:]]+$//; s/^"(.*)"$/\1/; s/^'\''(.*)'\''$/\1/')"
    if [ -n "$oc4d_url" ] && [[ ! "$oc4d_url" =~ ^postgres(ql)?://[^[:space:]\"\'\\\$\`]+$ ]]; then
      warn "DATABASE_URL in $oc4d_env is not a plain postgresql:// URL; not copied (set it by hand)"
      oc4d_url=""
    fi
    [ -z "$oc4d_url" ] || say "taking oc4d's DATABASE_URL from $oc4d_env (read-only use)"
  fi
  if [ -n "$oc4d_url" ]; then
    database_lines="# oc4d's PostgreSQL, read-only: module names and user display names (from $oc4d_env).
DATABASE_URL=$oc4d_url"
  else
    database_lines="# oc4d's PostgreSQL, read-only: module names and user display names. Uncomment and fill in:
# DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:5432/DATABASE"
  fi
  tmp_env="$(mktemp "$ETC_DIR/.env.XXXXXX")"
  cat >"$tmp_env" <<EOF
# Module Gaze settings, read by $UNIT_NAME (EnvironmentFile=). All settings: README "Settings".
# install.sh writes this file only when it is missing, so your changes stay. After a change:
#   sudo systemctl restart cdnmodulegaze
# A bad value stops the service with one line naming the variable: journalctl -u cdnmodulegaze -n 20

# Follow oc4d's journal from start-up (0 = an admin presses "Start monitoring" on the page).
MODULEGAZE_BACKGROUND_MONITOR=1
# Also write modulegaze-access.log: every module line of oc4d's log, once.
MODULEGAZE_TEE_ACCESS_LOG=1
# Very first start only: read the journal from this time (later starts resume where they stopped);
# over a log folder that already holds sessions (upstream's), from the end of the latest one if later.
MODULEGAZE_JOURNAL_SINCE=today
# Session/access logs and their daily .zip archives. The service may only write below
# /var/lib/modulegaze and /var/log/modulegaze; elsewhere needs ReadWritePaths= (systemctl edit).
MODULEFETCH_LOG_DIR=$LOG_DIR
# oc4d's module folders, scanned for <build>/<slug>/index.html (module catalog).
MODULEGAZE_UPLOADS_MODULES_ROOT=$uploads_root
# HTTP port of the dashboard.
MODULEGAZE_PORT=$DEFAULT_PORT
# Never simulated traffic on a centre's machine (demo data would stay under /var/lib/modulegaze/demo
# anyway, never in the log folder the upload scripts copy).
MODULEGAZE_DEMO=off
$database_lines
# Scripts and wall displays may read GET /api/live-sessions with "Authorization: Bearer <token>".
# Make one with: head -c 24 /dev/urandom | base64
# MODULEGAZE_READ_TOKEN=
# Uplink: closed sessions to the organisation's S3 bucket within minutes (README "Uplink").
# Uncomment and fill in all four lines (with the keys the organisation gives the centre):
# MODULEGAZE_UPLINK_URL=s3://BUCKET/PREFIX
# MODULEGAZE_UPLINK_LOCATION=CENTRE_NAME
# AWS_ACCESS_KEY_ID=
# AWS_SECRET_ACCESS_KEY=
# Optional: AWS_REGION=eu-west-1, MODULEGAZE_UPLINK_INTERVAL_MINUTES=15, and for a store that is
# not AWS, MODULEGAZE_UPLINK_ENDPOINT=https://s3.example.org
EOF
  chmod 0640 -- "$tmp_env"
  ((STAGING)) || chown "root:$SERVICE_USER" -- "$tmp_env"
  mv -- "$tmp_env" "$ENV_FILE"
fi

port="$(sed -n -E 's/^[[:space:]]*(export[[:space:]]+)?MODULEGAZE_PORT[[:space:]]*=[[:space:]]*["'\'']?([0-9]+).*/\2/p' "$ENV_FILE" | tail -n 1)"
port="${port:-$DEFAULT_PORT}"

# As the service user, with the service's settings (a staging install: as the caller).
run_as_service() {
  local env_vars=(PATH=/usr/local/bin:/usr/bin:/bin "MODULEGAZE_ENV_FILE=$ENV_FILE" "MODULEGAZE_DATA_DIR=$STATE_DIR")
  if ((STAGING)); then
    (cd "$APP_DIR" && env -i "${env_vars[@]}" "$@")
  else
    (cd "$APP_DIR" && runuser -u "$SERVICE_USER" -- env -i "${env_vars[@]}" "$@")
  fi
}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# 6b. Upstream out of the way: stopped before its unit is replaced (same name), port free for ours,
# its log files handed to the service user (contents untouched) and their sessions in the history.
imported=""
if [ -n "$upstream_dir" ]; then
  if ((USE_SYSTEMD)); then
    say "stopping upstream's $UNIT_NAME"
    systemctl stop "$UNIT_NAME" || warn "could not stop upstream's $UNIT_NAME"
    systemctl disable --quiet "$UNIT_NAME" >/dev/null 2>&1 || true
  else
    say "systemctl not called: stop upstream's $UNIT_NAME yourself before starting ours"
  fi
  if port_taken "$port"; then
    say "waiting for port $port to be free (upstream's next server stopping)"
    deadline=$((SECONDS + PORT_WAIT_S))
    while port_taken "$port"; do
      if ((SECONDS >= deadline)); then
        die "port $port is still taken after ${PORT_WAIT_S}s (see: ss -ltnp 'sport = :$port'); stop what holds it, then run install.sh again (upstream's unit is still in place: systemctl start $UNIT_NAME brings it back)"
      fi
      sleep 0.5
    done
  fi
  if ((!STAGING)); then
    find "$LOG_DIR" -maxdepth 1 -type f ! -user "$SERVICE_USER" -exec chown "$SERVICE_USER:$SERVICE_USER" {} +
  fi
  say "taking the sessions in $LOG_DIR into the history (main.py import-logs)"
  if import_out="$(run_as_service "$VENV_DIR/bin/python" "$APP_DIR/main.py" import-logs "$LOG_DIR" 2>&1)"; then
    imported="$(printf '%s\n' "$import_out" | sed -n -E 's/^records added:[[:space:]]*([0-9,]+).*/\1/p' | tail -n 1)"
    read_lines="$(printf '%s\n' "$import_out" | sed -n -E 's/^lines read:[[:space:]]*([0-9,]+).*/\1/p' | tail -n 1)"
    say "${imported:-0} records taken into the history (${read_lines:-0} session lines read)"
  else
    printf '%s\n' "$import_out" >&2
    warn "import-logs failed; the service takes the folder's sessions into the history at its first start"
  fi
  printf '%s\n' "$upstream_dir" >"$UPSTREAM_NOTE"
fi

# 7. The unit; for a staging install every path of ours points into the staging root.
say "installing $UNIT_FILE"
tmp_unit="$(mktemp "$UNIT_DIR/.$UNIT_NAME.XXXXXX")"
if ((STAGING)); then
  sed -E "s#(^|[=\" ])/(opt|etc|var/lib|var/log)/modulegaze#\\1$ROOT/\\2/modulegaze#g" \
    "$SRC/systemd/$UNIT_NAME" >"$tmp_unit"
else
  cat -- "$SRC/systemd/$UNIT_NAME" >"$tmp_unit"
fi
chmod 0644 -- "$tmp_unit"
mv -- "$tmp_unit" "$UNIT_FILE"

# 8. Start (or restart) the service and wait for it to answer.
upstream_summary() {
  [ -n "$upstream_dir" ] || return 0
  if [ -n "$imported" ]; then
    say "upstream's cdn-module-gaze replaced: $imported records from $LOG_DIR taken into the history"
  else
    say "upstream's cdn-module-gaze replaced: the service takes the records of $LOG_DIR into the history at its first start"
  fi
  say "upstream's folder $upstream_dir is left in place (no longer used); when you no longer need it:"
  say "  sudo rm -rf $upstream_dir /home/pi/.bun   (bun, if nothing else uses it)"
}

if ((!USE_SYSTEMD)); then
  upstream_summary
  say "files are in place; systemctl was not called"
  if ((!STAGING)); then
    say "start it with: systemctl daemon-reload && systemctl enable --now $UNIT_NAME"
  fi
  exit 0
fi

systemctl daemon-reload
systemctl enable --quiet "$UNIT_NAME"
if systemctl is-active --quiet "$UNIT_NAME"; then
  say "restarting $UNIT_NAME"
  systemctl restart "$UNIT_NAME"
else
  say "starting $UNIT_NAME"
  systemctl reset-failed "$UNIT_NAME" >/dev/null 2>&1 || true
  systemctl start "$UNIT_NAME"
fi

say "waiting for http://127.0.0.1:$port/healthz"
health="$("$PYTHON" - "$port" "$HEALTH_WAIT_S" <<'EOF'
import sys, time, urllib.error, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            print(response.status)
            break
    except urllib.error.HTTPError as exc:  # answered, e.g. 503 while not yet following the journal
        print(exc.code)
        break
    except OSError:
        if time.monotonic() > deadline:
            print("none")
            break
        time.sleep(0.5)
EOF
)"

address="$(hostname -I 2>/dev/null | awk '{print $1}' || true)"
address="${address:-$(hostname)}"
case "$health" in
  200) say "Module Gaze is up and following the journal" ;;
  none)
    if [ "$(systemctl is-active "$UNIT_NAME" || true)" = "failed" ]; then
      systemctl --no-pager --lines=15 status "$UNIT_NAME" >&2 || true
      die "$UNIT_NAME failed to start; see journalctl -u cdnmodulegaze -n 50"
    fi
    warn "no answer on port $port within ${HEALTH_WAIT_S}s; still starting? Check: systemctl status cdnmodulegaze"
    ;;
  *) warn "/healthz answered $health (not following the journal yet, or database problem): curl -s http://127.0.0.1:$port/healthz" ;;
esac
upstream_summary
echo
echo "Module Gaze: http://$address:$port/"
echo "First admin password (printed once, at the first start):"
echo "  sudo journalctl -u cdnmodulegaze --grep \"first user\""
