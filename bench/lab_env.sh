# bench/lab_env.sh - sourced (never run) by the bench scripts that build
# the test suite's lab (scale.sh, restart.sh, faults.sh, failover.sh):
# the build tree's culvertd, culvertctl, plugins and culvert-loadgen
# unless the environment names others, then tests/net/lab.sh.
# shellcheck shell=bash
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
export CULVERTD=${CULVERTD:-$TOP/src/culvertd}
export CULVERTCTL=${CULVERTCTL:-$TOP/src/culvertctl}
export CULVERT_PLUGIN_DIR=${CULVERT_PLUGIN_DIR:-$TOP/plugins}
LOADGEN=${CULVERT_LOADGEN:-$TOP/bench/loadgen/culvert-loadgen}
# shellcheck source=tests/net/lab.sh
. "$TOP/tests/net/lab.sh"
