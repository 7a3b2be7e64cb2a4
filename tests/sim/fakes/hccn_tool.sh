#!/bin/sh
# Fake hccn_tool, front: installed as /usr/local/Ascend/driver/tools/hccn_tool on a simulated node.
#
# A role asks every device the same 7 queries (16 x 7 calls per A3 node) and pings hundreds of
# peers, where the real tool is a C binary; a Python start-up per call made the simulated cluster
# CPU-bound. So the front answers the common calls with a shell, a cat or a ping and an awk, from
# what the Python fake (SIM_LIB/hccn_tool, publish_answers) rendered for the current node state:
#   hccn_tool -i D -<query> -g       <state>.answers/D-<query>.0 (stdout, exit 0) or .1 (stderr, exit 1)
#   hccn_tool -i D -ping -g address X    a real ping from <state>.answers/D-ping.from (none: the
#                                    device cannot send; peer-X.mute: a device of this node that
#                                    cannot answer), rendered by hccn_ping.awk
# Everything else, or no answers for the current state yet, runs the Python fake, which then
# renders them. tests/sim/test_fakes_npu.py checks both give the same bytes for every query,
# device and fault, and the same pings.
LIB="/usr/local/lib/ascend-sim"

# hccn_tool's check of an IPv4 address (dotted decimal, no leading zeros), as is_ipv4() does.
is_ipv4() {
    case "$1" in
        "" | *[!0-9.]* | .* | *. | *..*) return 1 ;;
    esac
    saved_ifs=$IFS
    IFS=.
    set -f
    # shellcheck disable=SC2086  # split on the dots
    set -- $1
    set +f
    IFS=$saved_ifs
    [ "$#" -eq 4 ] || return 1
    for octet; do
        case "$octet" in
            [0-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-5]) ;;
            *) return 1 ;;
        esac
    done
    return 0
}

answers="${ASCEND_SIM_STATE:-/etc/ascend-sim/state.json}.answers"
case "$2" in
    "" | *[!0-9]*) ;;
    *)
        if [ "$#" -eq 4 ] && [ "$1" = -i ] && [ "$4" = -g ]; then
            case "$3" in
                -ip | -link | -net_health | -netdetect | -gateway | -tls | -lldp)
                    if [ -f "$answers/$2$3.0" ]; then
                        cat "$answers/$2$3.0" 2>/dev/null && exit 0
                    elif [ -f "$answers/$2$3.1" ]; then
                        cat "$answers/$2$3.1" >&2 2>/dev/null && exit 1
                    fi
                    ;;
            esac
        elif [ "$#" -eq 6 ] && [ "$1" = -i ] && [ "$3" = -ping ] && [ "$4" = -g ] && [ "$5" = address ] \
                && [ -f "$answers/$2-ping.from" ] && is_ipv4 "$6" && command -v ping >/dev/null 2>&1; then
            source_ip=
            read -r source_ip < "$answers/$2-ping.from"
            if [ -z "$source_ip" ] || [ -f "$answers/peer-$6.mute" ]; then
                awk -v dev="$2" -v target="$6" -f "$LIB/hccn_ping.awk" < /dev/null
            else
                { timeout -s KILL 15 ping -n -c 3 -i 0.2 -W 1 -I "$source_ip" "$6" 2>/dev/null
                  echo "ascend-sim-exit $?"; } | awk -v dev="$2" -v target="$6" -f "$LIB/hccn_ping.awk"
            fi
            rendered=$?
            [ "$rendered" -eq 99 ] || exit "$rendered"
        fi
        ;;
esac
exec "$LIB/hccn_tool" "$@"
