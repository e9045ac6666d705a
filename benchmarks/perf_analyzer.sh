#!/usr/bin/env bash
# perf_analyzer.sh - load-test `visionrt serve` with NVIDIA's perf_analyzer (Triton's load tool).
#
# What it does:
#   1. Sets up perf_analyzer in $PERF_ANALYZER_HOME (default /tmp/perf-analyzer) unless it is there already:
#      the `perf-analyzer` wheel from PyPI, plus libc6, libstdc++6 and libgcc-s1 from Debian 13 (trixie),
#      unpacked (never installed) under $PERF_ANALYZER_HOME/root.
#   2. Starts `visionrt serve --model $MODEL` twice in turn on free ports: dynamic batching on, then
#      --no-dynamic-batching.
#   3. Against each server runs perf_analyzer over HTTP and over gRPC for each concurrency level of
#      $CONCURRENCY, writing one CSV (perf_analyzer's -f format) and one log per run into $OUT.
#   4. SIGTERMs each server when its runs are done (and on any exit).
#
# This is a manual benchmark. It is never part of CI: it downloads packages, takes minutes, and its figures
# only mean something on a quiet machine.
#
# Why the trixie libraries: the perf_analyzer binary in the wheel (manylinux_2_38) needs glibc 2.38
# (GLIBC_2.38) and a libstdc++ with GLIBCXX_3.4.32; Debian 12 has glibc 2.36 and GCC 12's libstdc++. So
# the binary is started through trixie's own loader, ld-linux-x86-64.so.2 --library-path <trixie libs>:
# <system libs>; zlib and OpenSSL 3 still come from the system. On Debian 12 a plain `pip install
# perf-analyzer` silently picks the 0.1.0 placeholder (pip skips wheels the system's glibc can't run),
# hence `pip install --target ... --platform manylinux_2_38_x86_64 --only-binary=:all:`.
#
# Settings (environment):
#   PERF_ANALYZER_HOME    cache dir for the set-up                     (/tmp/perf-analyzer)
#   OUT                   results dir, relative to the repo root        (bench-out/perf-analyzer)
#   CONCURRENCY           start:end:step, or start:end:xF for x F steps (1:64:x2 -> 1 2 4 8 16 32 64)
#   MEASUREMENT_INTERVAL  perf_analyzer's -p, in ms                     (5000)
#   MODEL                 model to serve and load                       (digits)
#   BATCH                 perf_analyzer's -b                            (1)
#   PROTOCOLS             which of "http grpc"                          (http grpc)
#   MODES                 which of "batching nobatching"                (batching nobatching)
#   PA_ARGS               more perf_analyzer arguments, word-split      ()
#   VISIONRT              the visionrt command                          (<repo>/.venv/bin/visionrt)
#   PA_VERSION            perf-analyzer wheel version                   (2.60.0)
#   DEBIAN_MIRROR         Debian mirror for trixie  (the one in /etc/apt/sources.list*, else deb.debian.org)
#
# Example smoke run: CONCURRENCY=1:2:x2 MEASUREMENT_INTERVAL=500 bash benchmarks/perf_analyzer.sh
# Exit status: 0 when every run wrote a CSV with a row per level, 1 otherwise.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PERF_ANALYZER_HOME=${PERF_ANALYZER_HOME:-/tmp/perf-analyzer}
OUT=${OUT:-bench-out/perf-analyzer}
CONCURRENCY=${CONCURRENCY:-1:64:x2}
MEASUREMENT_INTERVAL=${MEASUREMENT_INTERVAL:-5000}
MODEL=${MODEL:-digits}
BATCH=${BATCH:-1}
PROTOCOLS=${PROTOCOLS:-http grpc}
MODES=${MODES:-batching nobatching}
PA_ARGS=${PA_ARGS:-}
VISIONRT=${VISIONRT:-$REPO/.venv/bin/visionrt}
PA_VERSION=${PA_VERSION:-2.60.0}

H=$PERF_ANALYZER_HOME
LIBS=$H/root/usr/lib/x86_64-linux-gnu
LOADER=$LIBS/ld-linux-x86-64.so.2
PA_BIN=$H/pa/perf_analyzer/bin/perf_analyzer
READY=$H/.ready-$PA_VERSION

log() { echo "perf_analyzer.sh: $*" >&2; }
die() { log "$*"; exit 1; }

debian_mirror() {  # the Debian (not -security) mirror this machine's apt uses
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2}' | grep -E '/debian/?$' | head -n1 || true)
    [[ -n $uri ]] || uri=$(grep -hE '^deb +(\[[^]]*\] +)?https?://' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
                           sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}' | grep -E '/debian/?$' | head -n1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

pa() { "$LOADER" --library-path "$LIBS:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$PA_BIN" "$@"; }
pa_version() { pa --version 2>&1 | tail -n1; }  # it prints its version on stderr

setup() {
    if [[ -f $READY && -x $PA_BIN && -x $LOADER ]]; then return; fi
    [[ $(uname -m) == x86_64 ]] || die "only x86_64 is set up here"
    log "setting up perf_analyzer $PA_VERSION in $H"
    mkdir -p "$H"
    # 1. the wheel; its console script is a Python wrapper around the real ELF, perf_analyzer/bin/perf_analyzer
    [[ -x $H/venv/bin/pip ]] || python3 -m venv "$H/venv"
    "$H/venv/bin/pip" install --quiet --upgrade --target "$H/pa" --platform manylinux_2_38_x86_64 \
        --only-binary=:all: --no-deps "perf-analyzer==$PA_VERSION"
    [[ -x $PA_BIN ]] || die "the wheel has no $PA_BIN"
    # 2. trixie's libc6, libstdc++6 and libgcc-s1, downloaded with a private apt state and unpacked, not installed
    local mirror apt=$H/apt
    mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$H/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$apt/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Dir::State::status=/dev/null
                -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" -q update >"$apt/update.log" 2>&1 || { cat "$apt/update.log" >&2; die "apt-get update for trixie failed"; }
    rm -f "$H"/debs/*.deb
    (cd "$H/debs" && apt-get "${opts[@]}" -q download libc6 libstdc++6 libgcc-s1) >"$apt/download.log" 2>&1 ||
        { cat "$apt/download.log" >&2; die "apt-get download failed"; }
    rm -rf "$H/root" && mkdir -p "$H/root"
    local deb
    for deb in "$H"/debs/*.deb; do dpkg-deb -x "$deb" "$H/root"; done
    [[ -x $LOADER ]] || die "no loader at $LOADER after unpacking"
    # a launcher for use by hand
    mkdir -p "$H/bin"
    printf '#!/bin/sh\nexec "%s" --library-path "%s:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "%s" "$@"\n' \
        "$LOADER" "$LIBS" "$PA_BIN" > "$H/bin/perf_analyzer"
    chmod +x "$H/bin/perf_analyzer"
    pa --version >/dev/null 2>&1 || die "perf_analyzer does not start through $LOADER"
    (cd "$H/debs" && ls -- *.deb) > "$READY"
    log "ready: $(pa_version) with $(tr '\n' ' ' < "$READY")"
}

levels() {  # the concurrency levels of $CONCURRENCY, one per line
    local start end step
    IFS=: read -r start end step <<< "$CONCURRENCY"
    end=${end:-$start}; step=${step:-1}
    [[ $start =~ ^[0-9]+$ && $end =~ ^[0-9]+$ && $start -ge 1 && $end -ge $start ]] ||
        die "CONCURRENCY must be start:end:step or start:end:xF with 1 <= start <= end, not '$CONCURRENCY'"
    local n=$start
    if [[ $step == x* ]]; then
        local f=${step#x}
        [[ $f =~ ^[0-9]+$ && $f -ge 2 ]] || die "a x step must be x2 or more, not '$step'"
        while (( n <= end )); do echo "$n"; n=$(( n * f )); done
    else
        [[ $step =~ ^[0-9]+$ && $step -ge 1 ]] || die "bad step '$step'"
        while (( n <= end )); do echo "$n"; n=$(( n + step )); done
    fi
}

SERVER_PID=""
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

HTTP_URL="" GRPC_URL=""
start_server() {  # start_server LOG [extra serve args]: sets SERVER_PID, HTTP_URL, GRPC_URL
    local serve_log=$1; shift
    "$VISIONRT" serve --model "$MODEL" --http-port 0 --grpc-port 0 --metrics-port 0 --quiet "$@" >"$serve_log" 2>&1 &
    SERVER_PID=$!
    local waited=0
    until grep -q "ready in" "$serve_log" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$serve_log" >&2; SERVER_PID=""; die "visionrt serve exited"; }
        (( waited++ < 1200 )) || { cat "$serve_log" >&2; die "visionrt serve not ready after 120 s"; }
        sleep 0.1
    done
    # first line: "visionrt serve: HTTP 127.0.0.1:NNNN, gRPC 127.0.0.1:MMMM, metrics ..."
    HTTP_URL=$(sed -nE '1s/.*HTTP ([^ ,]+),.*/\1/p' "$serve_log")
    GRPC_URL=$(sed -nE '1s/.*gRPC ([^ ,]+),.*/\1/p' "$serve_log")
    [[ -n $HTTP_URL && -n $GRPC_URL ]] || { cat "$serve_log" >&2; die "cannot read the ports from the server's first line"; }
}

run_protocol() {  # run_protocol NAME PROTOCOL URL: one perf_analyzer run per level, merged into OUT/NAME.csv
    local name=$1 protocol=$2 url=$3 csv=$OUT/$1.csv runlog=$OUT/$1.log level part ok=0 missing=()
    : > "$runlog"; rm -f "$csv"
    for level in "${LEVELS[@]}"; do
        part=$OUT/.$name-c$level.csv; rm -f "$part"
        log "$name: concurrency $level"
        # a subshell, so that bash's own "Aborted" line for a crashed perf_analyzer lands in the log too
        # shellcheck disable=SC2086
        ( pa -m "$MODEL" -u "$url" -i "$protocol" -b "$BATCH" --concurrency-range "$level" \
            --measurement-interval "$MEASUREMENT_INTERVAL" -f "$part" $PA_ARGS ) >>"$runlog" 2>&1 || true
        if [[ -s $part ]] && (( $(wc -l < "$part") > 1 )); then
            [[ -s $csv ]] || head -n1 "$part" > "$csv"
            tail -n +2 "$part" >> "$csv"
            ok=$(( ok + 1 ))
        else
            missing+=("$level")
        fi
        rm -f "$part"
    done
    if (( ${#missing[@]} )); then
        log "$name: no result for concurrency ${missing[*]} (see $runlog)"
        if grep -q "Server side statistics compute counts must be the same" "$runlog"; then
            log "$name: perf_analyzer rejected the server's statistics: it needs inference_stats.compute_input," \
                "compute_infer and compute_output counts to be equal (GET /v2/models/$MODEL/stats, gRPC ModelStatistics)"
        fi
        if grep -q "Failed to obtain stable measurement" "$runlog"; then
            log "$name: some level never became stable (3 windows within 10%); raise MEASUREMENT_INTERVAL or quiet the machine"
        fi
        FAILED=1
    fi
    (( ok == 0 )) || log "$name: $ok level(s) -> $csv"
}

main() {
    [[ -x $VISIONRT ]] || command -v "$VISIONRT" >/dev/null || die "no visionrt at $VISIONRT (make the venv first, or set VISIONRT)"
    levels >/dev/null  # dies here on a bad CONCURRENCY
    setup
    mapfile -t LEVELS < <(levels)
    cd "$REPO"
    mkdir -p "$OUT"
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "perf_analyzer: $(pa_version) (wheel $PA_VERSION)"
        echo "libraries: $(tr '\n' ' ' < "$READY")"
        echo "visionrt: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
        echo "model: $MODEL, batch $BATCH, concurrency ${LEVELS[*]}, measurement interval $MEASUREMENT_INTERVAL ms"
        echo "extra perf_analyzer args: ${PA_ARGS:-none}"
    } > "$OUT/environment.txt"
    FAILED=0
    local mode protocol
    for mode in $MODES; do
        case $mode in
            batching) start_server "$OUT/serve-$mode.log" ;;
            nobatching) start_server "$OUT/serve-$mode.log" --no-dynamic-batching ;;
            *) die "MODES: unknown mode '$mode'" ;;
        esac
        log "$mode: server HTTP $HTTP_URL, gRPC $GRPC_URL"
        for protocol in $PROTOCOLS; do
            case $protocol in
                http) run_protocol "$mode-http" http "$HTTP_URL" ;;
                grpc) run_protocol "$mode-grpc" grpc "$GRPC_URL" ;;
                *) die "PROTOCOLS: unknown protocol '$protocol'" ;;
            esac
        done
        stop_server
    done
    log "results in $(cd "$OUT" && pwd)"
    return "$FAILED"
}

main "$@"
