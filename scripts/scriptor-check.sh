#!/usr/bin/env bash
# scripts/scriptor-check.sh: replays APDU scripts with scriptor (pcsc-tools), an
# independent witness that shares no code with ours, and checks the status words.
#
#   scripts/scriptor-check.sh -r READER FILE...
#
# For each FILE (format: docs/script-format.md):
#   - skipped, with the reason, when scriptor cannot replay it with the same meaning
#     (the rules of apdu::script::compat): a command with ${variables} or under 4 bytes,
#     `#! reset cold`, `#! power`, `#! channel N` (N > 0), `#! reader`,
#     `#! auto-get-response on`;
#   - otherwise run as `scriptor -r READER FILE`; every command must come back, in order,
#     with a status word that one of its `#<` alternatives allows (`x` = any nibble;
#     data patterns are sm-cli's to check, `sm-cli script run`), and every `reset`
#     must succeed. A command without `#<` only has to be answered.
# Prints one line per file; exits 1 if any replayed file fails, 0 otherwise (also when
# all were skipped). Needs a card in READER; the caller chooses a fresh one per file.

set -uo pipefail

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; }

# Expected items of a script, one per line: "C<TAB>HEX<TAB>SW1 SW2 ..." (allowed SWs,
# may be empty) or "R" for a reset; or a single line "SKIP<TAB>reason".
expected_items() {
    awk '
    function flush() {
        if (have) { printf "C\t%s\t%s\n", cmd, sws; have = 0; sws = "" }
    }
    function skip(why) { printf "SKIP\tline %d: %s\n", NR, why; bad = 1; exit }
    {
        sub(/\r$/, "")
        line = $0
    }
    tolower(line) ~ /exit/ { exit }
    line ~ /^[ \t]*$/ { next }
    line ~ /^#</ {
        e = substr(line, 3)
        gsub(/\$\{[^}]*\}/, "", e)         # captures hold ":" but no SW
        sub(/:.*/, "", e)                    # a note after ":"
        gsub(/[ \t*]/, "", e)
        sws = sws (sws == "" ? "" : " ") toupper(substr(e, length(e) - 3))
        next
    }
    line ~ /^#!/ && line !~ /^#!\// {
        d = tolower(line); sub(/^#![ \t]*/, "", d); gsub(/[ \t]+/, " ", d); sub(/ $/, "", d)
        if (d ~ /^reset cold/) skip("#! reset cold (scriptor resets warm)")
        if (d ~ /^power/) skip("#! power (scriptor keeps the card powered)")
        if (d ~ /^channel / && d !~ /^channel 0+$/) skip("#! channel (scriptor sends CLA as written)")
        if (d ~ /^reader/) skip("#! reader (scriptor uses one reader)")
        if (d ~ /^auto-get-response on/) skip("#! auto-get-response on (scriptor does not follow 61xx)")
        next                                 # "#! reset [warm]" is a comment to scriptor
    }
    line ~ /^#/ { next }
    tolower(line) ~ /reset/ { flush(); print "R"; next }
    {
        if (line ~ /\$\{/) skip("command with variables")
        cont = (line ~ /\\[ \t]*$/)
        sub(/\\[ \t]*$/, "", line)
        gsub(/[ \t]/, "", line)
        if (!pending) { flush(); cmd = "" }
        cmd = cmd toupper(line)
        pending = cont
        if (!pending) {
            if (length(cmd) < 8) skip("command shorter than 4 bytes")
            have = 1
        }
    }
    END { if (!bad) flush() }
    ' "$1"
}

# scriptor's stdout as items: "C<TAB>HEX<TAB>RESPONSE" or "R<TAB>OK|KO".
actual_items() {
    awk '
    function done_resp() { printf "C\t%s\t%s\n", cmd, resp; inresp = 0; cmd = "" }
    inresp {
        l = $0
        if (index(l, " : ")) { sub(/ : .*/, "", l); gsub(/ /, "", l); resp = resp l; done_resp() }
        else { gsub(/ /, "", l); resp = resp l }
        next
    }
    /^> RESET/ { isreset = 1; next }
    /^> / { c = substr($0, 3); gsub(/ /, "", c); cmd = toupper(c); next }
    /^< OK:/ && isreset { print "R\tOK"; isreset = 0; next }
    /^< KO:/ && isreset { print "R\tKO"; isreset = 0; next }
    /^< / {
        l = substr($0, 3)
        if (index(l, " : ")) { sub(/ : .*/, "", l); gsub(/ /, "", l); resp = l; done_resp() }
        else { gsub(/ /, "", l); resp = l; inresp = 1 }
    }
    '
}

# sw_allowed SW "PAT1 PAT2 ...": true when SW matches one pattern (x = any nibble).
sw_allowed() {
    local sw=$1 pat i ok
    [ -z "$2" ] && return 0
    for pat in $2; do
        [ "${#pat}" -eq 4 ] || continue
        ok=1
        for ((i = 0; i < 4; i++)); do
            case "${pat:i:1}" in
            x | X) ;;
            "${sw:i:1}") ;;
            *) ok=0 ;;
            esac
        done
        [ "$ok" = 1 ] && return 0
    done
    return 1
}

check_file() {
    local reader=$1 file=$2 exp out act n_exp n_act i e a kind cmd sws got sw
    exp=$(expected_items "$file")
    if [ "${exp%%$'\t'*}" = SKIP ]; then
        echo "SKIP  $file: not scriptor-compatible (${exp#*$'\t'})"
        return 2
    fi
    out=$(scriptor -r "$reader" "$file" 2>&1)
    local rc=$?
    act=$(printf '%s\n' "$out" | actual_items)
    mapfile -t E <<<"$exp"
    mapfile -t A <<<"$act"
    [ -n "$exp" ] || E=()
    [ -n "$act" ] || A=()
    n_exp=${#E[@]}
    n_act=${#A[@]}
    for ((i = 0; i < n_exp; i++)); do
        e=${E[i]}
        a=${A[i]:-}
        kind=${e%%$'\t'*}
        if [ -z "$a" ]; then
            echo "FAIL  $file: scriptor stopped after $i of $n_exp items (exit $rc):"
            printf '%s\n' "$out" | tail -n 5 | sed 's/^/      /'
            return 1
        fi
        if [ "$kind" = R ]; then
            if [ "$a" != $'R\tOK' ]; then
                echo "FAIL  $file: item $((i + 1)) reset: got '${a//$'\t'/ }'"
                return 1
            fi
            continue
        fi
        IFS=$'\t' read -r _ cmd sws <<<"$e"
        IFS=$'\t' read -r _ _ got <<<"$a"
        if [ "${a%%$'\t'*}" != C ] || [ "${a#C$'\t'}" = "$a" ] || [ "$(cut -f2 <<<"$a")" != "$cmd" ]; then
            echo "FAIL  $file: item $((i + 1)): expected command $cmd, scriptor reports '${a//$'\t'/ }'"
            return 1
        fi
        sw=${got: -4}
        if [ "${#got}" -lt 4 ] || ! sw_allowed "$sw" "$sws"; then
            echo "FAIL  $file: $cmd answered ${got:-nothing} (SW $sw), expected SW ${sws// / or }"
            return 1
        fi
    done
    if [ "$n_act" -ne "$n_exp" ]; then
        echo "FAIL  $file: scriptor reports $n_act items, the script has $n_exp"
        return 1
    fi
    echo "OK    $file: $n_exp items, every status word as expected (scriptor)"
    return 0
}

main() {
    local reader='' f failed=0 checked=0 skipped=0 rc
    while [ $# -gt 0 ]; do
        case "$1" in
        -r) reader=${2:-}; shift 2 || { usage; return 2; } ;;
        -h | --help) usage; return 0 ;;
        *) break ;;
        esac
    done
    if [ -z "$reader" ] || [ $# -eq 0 ]; then
        usage
        return 2
    fi
    command -v scriptor >/dev/null || {
        echo "scriptor not found: install pcsc-tools" >&2
        return 2
    }
    for f in "$@"; do
        check_file "$reader" "$f"
        rc=$?
        case $rc in
        0) checked=$((checked + 1)) ;;
        2) skipped=$((skipped + 1)) ;;
        *) failed=$((failed + 1)) ;;
        esac
    done
    echo "scriptor: $checked passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

main "$@"
