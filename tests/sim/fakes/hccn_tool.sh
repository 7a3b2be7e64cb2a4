#!/bin/sh
# Fake hccn_tool, front: installed as /usr/local/Ascend/driver/tools/hccn_tool on a simulated node.
#
# A role asks every device the same 7 queries (16 x 7 calls per A3 node), where the real tool is
# a C binary; a Python start-up per call made the simulated cluster CPU-bound. So the queries
# ``hccn_tool -i D -<query> -g`` are answered from the files that the Python fake (SIM_LIB/hccn_tool)
# rendered for the current node state, with its own code: <state>.answers/D-<query>.0 (stdout,
# exit 0) or .1 (stderr, exit 1). Everything else, or no answer for the current state yet, runs
# the Python fake, which then renders them. tests/sim/test_fakes_npu.py checks that both give
# the same bytes for every query, device and fault.
if [ "$#" -eq 4 ] && [ "$1" = -i ] && [ "$4" = -g ]; then
    case "$2" in
        "" | *[!0-9]*) ;;
        *)
            case "$3" in
                -ip | -link | -net_health | -netdetect | -gateway | -tls | -lldp)
                    answer="${ASCEND_SIM_STATE:-/etc/ascend-sim/state.json}.answers/$2$3"
                    if [ -f "$answer.0" ]; then
                        cat "$answer.0" 2>/dev/null && exit 0
                    elif [ -f "$answer.1" ]; then
                        cat "$answer.1" >&2 2>/dev/null && exit 1
                    fi
                    ;;
            esac
            ;;
    esac
fi
exec "/usr/local/lib/ascend-sim/hccn_tool" "$@"
