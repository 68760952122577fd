#!/usr/bin/env bash
# A real 3-member etcd cluster on loopback ports, for tests and local trials.
#
#   etcd-cluster.sh start DIR [--tls] [--auth] [--owner-pid PID]
#   etcd-cluster.sh stop DIR
#   etcd-cluster.sh kill-member DIR N        (N = 1, 2 or 3; SIGKILL)
#   etcd-cluster.sh restart-member DIR N     (same data dir; waits until it rejoins)
#
# `start` installs Debian's etcd-server and etcd-client when they are
# missing, starts three members with data and logs under DIR, waits until
# every member is healthy, and writes DIR/env (shell syntax):
#
#   ETCD_ENDPOINTS=127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#   ETCD_SCHEME=http|https
#   ETCD_CA_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_OTHER_CA_FILE   (--tls)
#   ETCD_USER, ETCD_PASSWORD_FILE, ETCD_ROOT_PASSWORD_FILE            (--auth)
#
# --tls: a CA, one server certificate (SAN 127.0.0.1 and localhost) and a
#   client certificate are made with openssl; members serve clients over
#   https and require a client certificate signed by that CA. A second,
#   unrelated CA (ETCD_OTHER_CA_FILE) is there to test a wrong trust root.
# --auth: a root user, a role `codomyrmex` with read-write on every key, a
#   user `codomyrmex` with that role and a random password in a 0600 file;
#   authentication is then enabled.
#
# Every member runs beside a watchdog that SIGKILLs it once the owner
# process is gone (--owner-pid, default: the process that ran `start`), so
# a test that dies never leaves a cluster behind. `stop` always succeeds.
#
# Environment: ETCD_CLUSTER_BASE_PORT picks the first of six consecutive
# ports (clients use base, base+2, base+4; peers the odd ones); without it a
# free range is chosen. ETCD_CLUSTER_START_TIMEOUT bounds the health wait
# (seconds, default 60). ETCD_CLUSTER_AUTH_TOKEN_TTL sets how long an idle
# auth token lives (seconds, etcd's default 300).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR

script_dir="$(cd "$(dirname "$0")" && pwd)"
MEMBERS=3

die() {
    echo "etcd-cluster: $*" >&2
    exit 1
}

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# --- ports ----------------------------------------------------------------

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a base port whose six consecutive ports are all free.
pick_base_port() {
    local base offset attempt
    for attempt in $(seq 1 50); do
        base=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        base=$((base - base % 2))
        for offset in 0 1 2 3 4 5; do
            if port_in_use $((base + offset)); then
                continue 2
            fi
        done
        echo "$base"
        return 0
    done
    die "found no six free consecutive ports after $attempt tries"
}

client_port() { echo $((BASE_PORT + 2 * ($1 - 1))); }
peer_port() { echo $((BASE_PORT + 2 * ($1 - 1) + 1)); }

# --- state kept in DIR ----------------------------------------------------

load_state() {
    [ -f "$DIR/cluster.state" ] || die "no cluster state in $DIR (was it started?)"
    # shellcheck source=/dev/null
    source "$DIR/cluster.state"
}

scheme() { if [ "$TLS" = 1 ]; then echo https; else echo http; fi; }

endpoints() {
    local i list=()
    for i in $(seq 1 "$MEMBERS"); do list+=("127.0.0.1:$(client_port "$i")"); done
    local IFS=,
    echo "${list[*]}"
}

# etcdctl with TLS files and root credentials, on the endpoints in
# $CTL_ENDPOINTS (URLs) or else on every member.
ctl() {
    local urls=${CTL_ENDPOINTS:-$(endpoints | sed "s#\([^,]*\)#$(scheme)://\1#g")}
    local args=(--endpoints="$urls" --command-timeout=5s)
    if [ "$TLS" = 1 ]; then
        args+=(--cacert="$DIR/tls/ca.crt" --cert="$DIR/tls/client.crt" --key="$DIR/tls/client.key")
    fi
    if [ "$AUTH_ENABLED" = 1 ]; then
        args+=(--user="root:$(cat "$DIR/root.password")")
    fi
    ETCDCTL_API=3 etcdctl "${args[@]}" "$@"
}

# --- members --------------------------------------------------------------

member_args() {
    local i=$1 j cluster=()
    for j in $(seq 1 "$MEMBERS"); do
        cluster+=("m$j=http://127.0.0.1:$(peer_port "$j")")
    done
    local IFS=,
    local url
    url="$(scheme)://127.0.0.1:$(client_port "$i")"
    printf '%s\n' --name "m$i" --data-dir "$DIR/m$i.data" \
        --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
        --initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
        --initial-cluster "${cluster[*]}" --initial-cluster-state new \
        --initial-cluster-token "codomyrmex-$BASE_PORT" \
        --logger zap --log-outputs stderr \
        --auth-token-ttl "$AUTH_TOKEN_TTL"
    if [ "$TLS" = 1 ]; then
        printf '%s\n' --cert-file "$DIR/tls/server.crt" --key-file "$DIR/tls/server.key" \
            --trusted-ca-file "$DIR/tls/ca.crt" --client-cert-auth
    fi
}

# Starts member I in the background, with its watchdog; records its pid.
launch_member() {
    local i=$1 args
    mapfile -t args < <(member_args "$i")
    etcd "${args[@]}" </dev/null >>"$DIR/m$i.log" 2>&1 &
    local pid=$!
    echo "$pid" >"$DIR/m$i.pid"
    # The watchdog: SIGKILL the member once the owner is gone; end when the
    # member ends. Detached from every inherited descriptor.
    (
        trap '' HUP
        while process_running "$OWNER_PID" && process_running "$pid"; do
            sleep 0.5
        done
        kill_member_process "$i" "$pid"
    ) </dev/null >/dev/null 2>&1 &
}

member_pid() { cat "$DIR/m$1.pid" 2>/dev/null || true; }

# Whether PID is member I's etcd (and not a process that reused the pid).
is_member_process() {
    local args
    { mapfile -d '' -t args <"/proc/$2/cmdline"; } 2>/dev/null || return 1
    [[ " ${args[*]} " == *" --data-dir $DIR/m$1.data "* ]]
}

# SIGKILLs member I's process PID, if that is what PID still is.
kill_member_process() {
    if [ -n "$2" ] && is_member_process "$1" "$2"; then
        kill -9 "$2" 2>/dev/null || true
    fi
}

member_alive() {
    local pid
    pid=$(member_pid "$1")
    [ -n "$pid" ] && process_running "$pid" && is_member_process "$1" "$pid"
}

# Whether PID runs: a zombie does not (nobody may reap it soon, so kill -0
# is no test). Shell builtins only: the watchdogs call this twice a second.
process_running() {
    local stat state
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    state=${stat##*) }
    state=${state%% *}
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

member_healthy() {
    local url
    url="$(scheme)://127.0.0.1:$(client_port "$1")"
    CTL_ENDPOINTS=$url ctl endpoint health >/dev/null 2>&1
}

log_tails() {
    local i
    for i in $(seq 1 "$MEMBERS"); do
        echo "--- last lines of $DIR/m$i.log" >&2
        tail -n 15 "$DIR/m$i.log" >&2 2>/dev/null || true
    done
}

# Waits until every member named in "$@" answers healthy, or fails.
wait_healthy() {
    local deadline=$((SECONDS + ${ETCD_CLUSTER_START_TIMEOUT:-60})) i pending
    while :; do
        pending=()
        for i in "$@"; do
            member_healthy "$i" || pending+=("$i")
        done
        [ ${#pending[@]} -eq 0 ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            echo "etcd-cluster: members ${pending[*]} not healthy after ${ETCD_CLUSTER_START_TIMEOUT:-60} s" >&2
            log_tails
            return 1
        fi
        for i in "${pending[@]}"; do
            member_alive "$i" || {
                echo "etcd-cluster: member $i exited during start" >&2
                log_tails
                return 1
            }
        done
        sleep 0.3
    done
}

# --- TLS and auth material ------------------------------------------------

make_certs() {
    local t="$DIR/tls"
    mkdir -p "$t"
    (
        cd "$t"
        umask 077
        new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
        new_key ca.key
        openssl req -x509 -new -key ca.key -out ca.crt -days 7 -subj "/CN=codomyrmex test CA" 2>/dev/null
        new_key other-ca.key
        openssl req -x509 -new -key other-ca.key -out other-ca.crt -days 7 \
            -subj "/CN=codomyrmex unrelated CA" 2>/dev/null
        sign() { # NAME SUBJECT EXTENSIONS
            new_key "$1.key"
            openssl req -new -key "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
            printf '%s\n' "$3" >"$1.ext"
            openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
                -out "$1.crt" -days 7 -extfile "$1.ext" 2>/dev/null
            rm -f "$1.csr" "$1.ext"
        }
        # Members also present this certificate to their own gateway, hence clientAuth.
        sign server /CN=etcd-member "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth
keyUsage=digitalSignature"
        # No common name: with authentication on, etcd 3.4's JSON gateway
        # refuses (400) a client certificate that has one.
        sign client /O=codomyrmex-client "extendedKeyUsage=clientAuth
keyUsage=digitalSignature"
        chmod 0644 ca.crt other-ca.crt server.crt client.crt
    ) || die "could not make TLS certificates with openssl"
}

# Passwords go to etcdctl as arguments: acceptable for a throwaway test
# cluster on this machine, not a pattern for real ones.
enable_auth() {
    (umask 077 && openssl rand -hex 16 >"$DIR/root.password" &&
        openssl rand -hex 16 >"$DIR/codomyrmex.password")
    local root_pw user_pw
    root_pw=$(cat "$DIR/root.password")
    user_pw=$(cat "$DIR/codomyrmex.password")
    {
        ctl user add root --new-user-password="$root_pw" --interactive=false &&
            ctl user grant-role root root 2>/dev/null || true
        ctl role add codomyrmex &&
            ctl role grant-permission codomyrmex readwrite --from-key '' &&
            ctl user add codomyrmex --new-user-password="$user_pw" --interactive=false &&
            ctl user grant-role codomyrmex codomyrmex &&
            ctl auth enable
    } >>"$DIR/auth.log" 2>&1 || {
        tail -n 20 "$DIR/auth.log" >&2
        die "could not enable authentication"
    }
    AUTH_ENABLED=1
    echo "AUTH_ENABLED=1" >>"$DIR/cluster.state"
}

write_env() {
    {
        echo "ETCD_ENDPOINTS=$(endpoints)"
        echo "ETCD_SCHEME=$(scheme)"
        if [ "$TLS" = 1 ]; then
            echo "ETCD_CA_FILE=$DIR/tls/ca.crt"
            echo "ETCD_CERT_FILE=$DIR/tls/client.crt"
            echo "ETCD_KEY_FILE=$DIR/tls/client.key"
            echo "ETCD_OTHER_CA_FILE=$DIR/tls/other-ca.crt"
        fi
        if [ "$AUTH_ENABLED" = 1 ]; then
            echo "ETCD_USER=codomyrmex"
            echo "ETCD_PASSWORD_FILE=$DIR/codomyrmex.password"
            echo "ETCD_ROOT_PASSWORD_FILE=$DIR/root.password"
        fi
    } >"$DIR/env"
}

# --- commands -------------------------------------------------------------

kill_all() {
    local i
    for i in $(seq 1 "$MEMBERS"); do
        kill_member_process "$i" "$(member_pid "$i")"
    done
}

# Tries one base port; returns 1 if a port was taken meanwhile.
try_start() {
    local i
    {
        echo "BASE_PORT=$BASE_PORT"
        echo "TLS=$TLS"
        echo "OWNER_PID=$OWNER_PID"
        echo "AUTH_TOKEN_TTL=$AUTH_TOKEN_TTL"
        echo "AUTH_ENABLED=0"
    } >"$DIR/cluster.state"
    for i in $(seq 1 "$MEMBERS"); do
        rm -rf "$DIR/m$i.data"
        : >"$DIR/m$i.log"
        launch_member "$i"
    done
    wait_healthy $(seq 1 "$MEMBERS") && return 0
    kill_all
    grep -q "address already in use" "$DIR"/m*.log && return 1
    die "the cluster did not start (logs under $DIR)"
}

cmd_start() {
    local want_auth=0 attempt
    TLS=0
    AUTH_ENABLED=0
    AUTH_TOKEN_TTL=${ETCD_CLUSTER_AUTH_TOKEN_TTL:-300}
    OWNER_PID=$PPID
    while [ $# -gt 0 ]; do
        case "$1" in
        --tls) TLS=1 ;;
        --auth) want_auth=1 ;;
        --owner-pid)
            OWNER_PID=${2:?--owner-pid needs a pid}
            shift
            ;;
        *) usage ;;
        esac
        shift
    done
    process_running "$OWNER_PID" || die "owner pid $OWNER_PID is not running"
    # shellcheck source=SCRIPTDIR/setup.sh
    source "$script_dir/setup.sh"
    require_commands etcd:etcd-server etcdctl:etcd-client openssl:openssl
    chmod 0700 "$DIR"
    [ "$TLS" = 1 ] && make_certs
    for attempt in 1 2 3 4 5; do
        BASE_PORT=${ETCD_CLUSTER_BASE_PORT:-$(pick_base_port)}
        try_start && break
        [ -n "${ETCD_CLUSTER_BASE_PORT:-}" ] && die "ports from $BASE_PORT are taken"
        echo "etcd-cluster: ports from $BASE_PORT were taken, trying others" >&2
        [ "$attempt" = 5 ] && die "no free ports after 5 tries"
    done
    [ "$want_auth" = 1 ] && enable_auth
    write_env
    echo "etcd-cluster: 3 members healthy at $(endpoints) ($(scheme)$([ "$AUTH_ENABLED" = 1 ] && echo ', auth'))"
}

cmd_stop() {
    [ -f "$DIR/cluster.state" ] || return 0
    load_state
    kill_all
    local i
    for i in $(seq 1 "$MEMBERS"); do rm -f "$DIR/m$i.pid"; done
}

member_number() {
    [[ "${1:-}" =~ ^[1-3]$ ]] || die "member number must be 1, 2 or 3, not '${1:-}'"
}

cmd_kill_member() {
    member_number "${1:-}"
    load_state
    local pid
    pid=$(member_pid "$1")
    kill_member_process "$1" "$pid"
    # Wait until it is dead, so its ports are closed when we return.
    while member_alive "$1"; do sleep 0.01; done
}

cmd_restart_member() {
    member_number "${1:-}"
    load_state
    member_alive "$1" && die "member $1 is still running"
    process_running "$OWNER_PID" || die "owner pid $OWNER_PID is gone"
    launch_member "$1"
    wait_healthy "$1"
}

[ $# -ge 2 ] || usage
command=$1
DIR=$2
shift 2
if [ "$command" = start ]; then mkdir -p "$DIR"; fi
if [ -d "$DIR" ]; then DIR=$(cd "$DIR" && pwd); fi
case "$command" in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
kill-member) cmd_kill_member "$@" ;;
restart-member) cmd_restart_member "$@" ;;
*) usage ;;
esac
