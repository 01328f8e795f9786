# Sourced by the test command: installs the system packages the tests use, when they are missing.
# PostgreSQL's server and clients, pgbouncer (the benchmark's peer), psycopg2 for Debian's python3,
# rsync (gitlab-ci-local copies the repository with it), openssl (test certificates), OpenSSH, git and
# tmux (the SSH adapter's tests), and the HTTP clients and benchmark peers below.
need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
python3 -c "import MySQLdb" >/dev/null 2>&1 || need+=(python3-mysqldb)
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || need+=(python3-psycopg2)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# chromium renders report.html in its test and in `npm run bench report`.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# HTTP: curl, git and python requests are the tests' clients; wrk, nginx and mitmdump the benchmark's peers.
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v git >/dev/null 2>&1 || need+=(git)
/usr/bin/python3 -c 'import requests' >/dev/null 2>&1 || need+=(python3-requests)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v mitmdump >/dev/null 2>&1 || need+=(mitmproxy)
# The SSH adapter's tests: a real sshd and the clients a job uses through it.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The Debian package starts a cluster of its own; the tests make throwaway ones.
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters -h 2>/dev/null | while read -r version name _; do pg_ctlcluster "$version" "$name" stop 2>/dev/null || true; done
  fi
fi
