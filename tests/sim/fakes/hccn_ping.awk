# Fake hccn_tool, front: renders ``hccn_tool -i DEV -ping -g address TARGET`` out of iputils
# ping's output, exactly as the Python fake does (ping_times(), then cmd_ping()'s lines):
#   awk -v dev=DEV -v target=TARGET -f hccn_ping.awk
# Input: ping's stdout, then a last line "ascend-sim-exit N" (N: the exit status of
# `timeout -s KILL 15 ping ...`; 137 = killed, so no reply counts, as in the Python fake). No
# input at all (a device that cannot send, or a peer of this node that cannot answer): every
# packet times out. Exit 0 (3 replies), 1 (fewer; "Cmd execute failed!" on stderr) or 99: an
# output the Python fake would read differently (non-ASCII, other line breaks, a malformed
# time) or no exit line: the front then runs the Python fake.
BEGIN { count = 3; killed = 0; ended = 0 }
/[\r\v\f\034\035\036\200-\377]/ { weird = 1 }
/^ascend-sim-exit [0-9]+$/ { ended = 1; status = $2 + 0; killed = (status == 137); weird = weird || (status > 2 && !killed); next }
{
    line = $0
    at = index(line, "icmp_seq=")
    while (at > 0) {
        rest = substr(line, at + 9)
        if (split_words(rest)) {
            if (substr(w1, 1, 4) == "ttl=" && substr(w2, 1, 5) == "time=" && substr(w3, 1, 2) == "ms") {
                seq = w0; ttl = substr(w1, 5); rtt = substr(w2, 6)
                if (seq ~ /^[0-9]+$/ && ttl ~ /^[0-9]+$/ && rtt ~ /^[0-9.]+$/) {
                    if (rtt !~ /^([0-9]+\.?[0-9]*|\.[0-9]+)$/) weird = 1  # float() would raise
                    idx = seq - 1
                    if (idx >= 0 && idx < count) { have[idx] = 1; time[idx] = rtt + 0 }
                }
            }
        }
        next_at = index(substr(line, at + 1), "icmp_seq=")
        at = next_at > 0 ? at + next_at : 0
    }
}
# str.split(" ", 3): words w0..w3 separated by single spaces (the last keeps the rest).
function split_words(s,    p) {
    p = index(s, " "); if (!p) return 0; w0 = substr(s, 1, p - 1); s = substr(s, p + 1)
    p = index(s, " "); if (!p) return 0; w1 = substr(s, 1, p - 1); s = substr(s, p + 1)
    p = index(s, " "); if (!p) return 0; w2 = substr(s, 1, p - 1); w3 = substr(s, p + 1)
    return 1
}
END {
    if (NR > 0 && (weird || !ended)) exit 99
    received = 0
    printf "device %d PING %s\n", dev, target
    for (i = 0; i < count; i++) {
        if (have[i] && !killed) { printf "recv seq=%d,time=%.6fms\n", i, time[i]; received++ }
        else printf "recv time out seq=%d\n", i
    }
    printf "%d packets transmitted, %d received, %.2f%% packet loss\n", count, received, 100 * (count - received) / count
    if (received != count) { printf "Cmd execute failed!\n" > "/dev/stderr"; exit 1 }
}
