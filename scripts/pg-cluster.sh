# Sourced (not run): start a throwaway PostgreSQL on a private socket dir and port, stopped on exit,
# and export SOBERPAY_TEST_PG_URL. Port: SOBERPAY_TEST_PG_PORT (default 54329).
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -n "$PGBIN" ]; then
  PGTMP=$(mktemp -d)
  PGPORT=${SOBERPAY_TEST_PG_PORT:-54329}
  RUNAS=()
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd -r -m postgres
    chown -R postgres "$PGTMP"
    RUNAS=(runuser -u postgres --)
  fi
  "${RUNAS[@]}" "$PGBIN/initdb" -D "$PGTMP/data" -U soberpay --auth=trust >/dev/null
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -o "-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off" -l "$PGTMP/log" -w start >/dev/null
  trap '"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGTMP"' EXIT
  "${RUNAS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U soberpay soberpay_test
  export SOBERPAY_TEST_PG_URL="postgresql+psycopg://soberpay@127.0.0.1:$PGPORT/soberpay_test"
else
  echo "warning: no PostgreSQL server found; postgres tests will fail" >&2
fi
