#!/bin/sh
# Entry point of the jobcast image (deploy/Dockerfile).
#
# - Secrets from mounted files: JOBCAST_JWT_SECRET_FILE, JOBCAST_DATA_KEY_FILE and
#   JOBCAST_TURN_SECRET_FILE name files (compose secrets, a Kubernetes Secret
#   volume) whose contents become JOBCAST_JWT_SECRET, JOBCAST_DATA_KEY and
#   JOBCAST_TURN_SECRET, the variables jobcastd reads.
# - Per-node values in one shared config: @HOSTNAME@ and @HOST_IP@ in the
#   config file (JOBCAST_CONFIG, default /etc/jobcast/jobcast.yaml) are
#   replaced by the host name (or JOBCAST_HOSTNAME) and $JOBCAST_HOST_IP
#   before jobcastd reads it, so a StatefulSet or a compose file gives every
#   node its own node_id, public_url and media address from one file.
#
#   docker-entrypoint.sh jobcastd [OPTIONS]      the node
#   docker-entrypoint.sh token [OPTIONS]         jobcastd token (admin tooling)
#   docker-entrypoint.sh COMMAND ...             anything else (redis-server, sh)
set -eu

JOBCASTD="${JOBCASTD:-/usr/local/bin/jobcastd}"
config="${JOBCAST_CONFIG:-/etc/jobcast/jobcast.yaml}"

for name in JOBCAST_JWT_SECRET JOBCAST_DATA_KEY JOBCAST_TURN_SECRET; do
  file="$(printenv "${name}_FILE" || true)"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "docker-entrypoint: ${name}_FILE: cannot read $file" >&2
      exit 2
    fi
    value="$(cat "$file")"
    export "$name=$value"
    unset "${name}_FILE"
  fi
done

render_config() {
  if [ ! -r "$config" ]; then
    echo "docker-entrypoint: cannot read the config $config" >&2
    exit 2
  fi
  rendered="$(mktemp "${TMPDIR:-/tmp}/jobcast-config.XXXXXX")"
  host_name="${JOBCAST_HOSTNAME:-$(hostname)}"
  sed -e "s|@HOSTNAME@|${host_name}|g" -e "s|@HOST_IP@|${JOBCAST_HOST_IP:-}|g" "$config" >"$rendered"
}

case "${1:-jobcastd}" in
  jobcastd)
    [ "$#" -gt 0 ] && shift
    render_config
    exec "$JOBCASTD" --config "$rendered" "$@"
    ;;
  token)
    shift
    render_config
    exec "$JOBCASTD" token --config "$rendered" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
