#!/usr/bin/env bash
# Makes sure a local PostgreSQL (Debian packages) is running on 127.0.0.1 with a login role `dwt`
# (password `dwt`, CREATEDB) owning a database `dwt`, idempotently, and prints the URL to use.
# Usage: eval "$(scripts/postgres.sh)"   — exports DATABASE_URL (progress goes to stderr).
# An already-set DATABASE_URL is printed back unchanged and nothing else is done.
set -euo pipefail

emit() { printf "export DATABASE_URL='%s'\n" "${1//\'/\'\\\'\'}"; }
if [ -n "${DATABASE_URL:-}" ]; then emit "$DATABASE_URL"; exit 0; fi

# Root in CI; sudo when run as a normal user.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() (
  cd /  # the postgres user may not be able to read the caller's directory
  if [ "$(id -u)" -ne 0 ]; then sudo -u postgres "$@"
  elif command -v runuser >/dev/null; then runuser -u postgres -- "$@"
  else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
)

# Debian's server packages (not whatever pg_ctl/postgres is on PATH).
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "installing Debian postgresql" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

# A cluster (an online one if any), created when there is none, started when down.
cluster() { pg_lsclusters -h | awk '{ if (!f) f = $0; if (!o && $4 ~ /^online/) o = $0 } END { print (o ? o : f) }'; }
if [ -z "$(cluster)" ]; then
  ver="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
  echo "creating cluster $ver/main" >&2
  as_root pg_createcluster "$ver" main >&2
fi
read -r ver name port status _ <<<"$(cluster)"
if [[ "$status" != online* ]]; then
  echo "starting cluster $ver/$name on port $port" >&2
  # Exits non-zero when it is "already running" (e.g. a concurrent start): pg_isready decides.
  as_root pg_ctlcluster "$ver" "$name" start >&2 || true
fi

# Wait for TCP on 127.0.0.1 (listen_addresses defaults to 'localhost').
for _ in $(seq 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$port" >&2 || { echo "cluster $ver/$name is not accepting connections on 127.0.0.1:$port" >&2; exit 1; }

# Role and database, over the local socket with peer auth as the postgres OS user.
as_postgres psql --cluster "$ver/$name" -qAt -v ON_ERROR_STOP=1 -d postgres >&2 <<'SQL'
SELECT 'CREATE ROLE dwt' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dwt') \gexec
ALTER ROLE dwt WITH LOGIN CREATEDB PASSWORD 'dwt';
SELECT 'CREATE DATABASE dwt OWNER dwt' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dwt') \gexec
ALTER DATABASE dwt OWNER TO dwt;
SQL

emit "postgres://dwt:dwt@127.0.0.1:$port/dwt"
