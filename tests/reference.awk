# reference.awk -- an independent parse of a common/combined access log,
# written with regular expressions rather than the project's walker, to
# check `logtally analyze` against.  Run with LC_ALL=C gawk -f reference.awk.
#
# Prints one line of key=value pairs: lines valid malformed unparsed ipv4
# ipv6 other peak top_url top_count zones.  Limits of the reference: IPv6
# clients are compared by their text (the real logs write each address one
# way) and the peak second is found by timestamp text, so the file must use
# a single UTC offset (zones= reports how many it saw).
BEGIN {
    valid_re = "^([^ ]+) [^ ]+ [^ ]+ \\[([0-9][0-9]/[A-Z][a-z][a-z]/[0-9][0-9][0-9][0-9]:[0-9][0-9]:[0-9][0-9]:[0-9][0-9]) ([-+][0-9][0-9][0-9][0-9])\\] \"((\\\\.|[^\"\\\\])*)\" [0-9][0-9][0-9] ([0-9]+|-)( |\r?$)"
    octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ipv4_re = "^" octet "\\." octet "\\." octet "\\." octet "$"
}
{
    lines++
    if (!match($0, valid_re, m)) {
        malformed++
        next
    }
    valid++
    client = m[1]
    if (client ~ ipv4_re)
        kind = "ipv4"
    else if (client ~ /:/)
        kind = "ipv6"
    else
        kind = "other"
    if (!((kind, client) in seen)) {
        seen[kind, client] = 1
        n[kind]++
    }
    per_second[m[2]]++
    zone[m[3]] = 1
    req = m[4]
    gsub(/^ +| +$/, "", req)
    k = split(req, tok, / +/)
    if (k == 2 || k == 3)
        hits[tok[2]]++
    else
        unparsed++
}
END {
    peak = 0
    for (s in per_second)
        if (per_second[s] > peak)
            peak = per_second[s]
    top_count = 0
    for (u in hits)
        if (hits[u] > top_count || (hits[u] == top_count && u < top_url)) {
            top_count = hits[u]
            top_url = u
        }
    zones = 0
    for (z in zone)
        zones++
    printf "lines=%d valid=%d malformed=%d unparsed=%d ipv4=%d ipv6=%d other=%d peak=%d top_count=%d zones=%d top_url=%s\n",
        lines, valid, malformed, unparsed, n["ipv4"], n["ipv6"], n["other"], peak, top_count, zones, top_url
}
