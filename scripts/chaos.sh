#!/usr/bin/env bash
# dacline chaos suite (`just chaos`): kill the station, kill the ceremony, run a
# shift on a faulty line — then check that nothing was lost or done twice.
#
#   usage: scripts/chaos.sh
#
# 1. station kills   lineclient/runner TestKillAtRandomInstants: the station
#                    SIGKILLed at random instants over a run, its store and
#                    every simulated module checked after each restart.
# 2. ceremony kills  appliance/ceremony TestResumeAfterCrash and TestSIGKILL
#                    (every named kill point, a real SIGKILL), then
#                    lineclient/chaos TestCeremonyKills: the built `appliance
#                    sign` killed at random instants and random named points,
#                    batch after batch, log read back after every kill.
# 3. faulty shift    lineclient/chaos TestFaultyShift: rounds of keygen, batch,
#                    ceremony on a SoftHSM2 appliance, import, write/attest/lock
#                    on simulated jigs with noise, drops, disconnects, reboots
#                    during lock and lying modules, the station SIGKILLed
#                    throughout.
# 4. hostile CSRs    lineclient/chaos TestHostileCSRs: batches from a hostile
#                    station (non-canonical keys, clones of certified keys in
#                    another encoding, wrong curves, bad signatures, oversize
#                    CSRs, keys repeated across and within batches) through
#                    `appliance sign` with a station quota: every ceremony
#                    finishes, every CSR gets the refusal it is owed.
# 5. station restore lineclient/chaos TestStationRestore: the station home
#                    restored mid-shift from a copy taken while the modules
#                    were dac-received, after they were locked; each is
#                    reconciled from its own read-back, none scrapped.
# 6. damaged stores  lineclient/chaos TestDamagedStore: station.db and
#                    appliance.db truncated, emptied, removed, pages flipped or
#                    zeroed: every command refuses clearly (exit 1, hint), no
#                    store is re-created; the backups restored, the shift ends.
# 7. appliance restore lineclient/chaos TestApplianceRestore: appliance.db,
#                    then the whole home, restored from an earlier copy and an
#                    already-signed batch signed again: refused before any DAC
#                    (the token's log anchor); then the runbook's
#                    'appliance log restore' from the latest log export.
# Each ends by checking the invariants (one key per module, one DAC per key,
# none lost, no module locked without an attested DAC for its own key, the
# audit log verifies) and prints one line of what it survived.
#
# Sizes (defaults: a few minutes on 2 cores):
#   DACLINE_CHAOS_STATION_KILLS=300   station SIGKILLs in part 1
#   DACLINE_CHAOS_CEREMONY_KILLS=100  ceremony kills in part 2
#   DACLINE_CHAOS_CEREMONY_CSRS=300   CSRs per ceremony batch in part 2
#   DACLINE_CHAOS_SHIFT_JIGS=16       jigs in part 3
#   DACLINE_CHAOS_SHIFT_ROUNDS=3      modules through each jig in part 3
#   DACLINE_CHAOS_SHIFT_KILLS=30      station SIGKILLs in part 3
#   DACLINE_CHAOS_HOSTILE_ROUNDS=3    hostile batches in part 4
#   DACLINE_CHAOS_FAULTS=noise=0.01,drop=0.01,disconnect=0.01,reboot-during-lock=0.2,lying=0.1
#   DACLINE_CHAOS_RESTORE_JIGS=16     jigs in part 5
#   DACLINE_CHAOS_SEED=N              replay the random choices of parts 2 and 3 (default: a fresh one)
#   DACLINE_CHAOS_LOGS=DIR            keep every part's full output in DIR (default: a temp dir)
set -euo pipefail

cd "$(dirname "$0")/.."
export DACLINE_KILLS=${DACLINE_CHAOS_STATION_KILLS:-300}
export DACLINE_CHAOS_CEREMONY_KILLS=${DACLINE_CHAOS_CEREMONY_KILLS:-100}
export DACLINE_CHAOS_CEREMONY_CSRS=${DACLINE_CHAOS_CEREMONY_CSRS:-300}
export DACLINE_CHAOS_SHIFT_JIGS=${DACLINE_CHAOS_SHIFT_JIGS:-16}
export DACLINE_CHAOS_SHIFT_ROUNDS=${DACLINE_CHAOS_SHIFT_ROUNDS:-3}
export DACLINE_CHAOS_SHIFT_KILLS=${DACLINE_CHAOS_SHIFT_KILLS:-30}
export DACLINE_CHAOS_HOSTILE_ROUNDS=${DACLINE_CHAOS_HOSTILE_ROUNDS:-3}
export DACLINE_CHAOS_RESTORE_JIGS=${DACLINE_CHAOS_RESTORE_JIGS:-16}
export DACLINE_CHAOS_FAULTS=${DACLINE_CHAOS_FAULTS:-noise=0.01,drop=0.01,disconnect=0.01,reboot-during-lock=0.2,lying=0.1}
export DACLINE_CHAOS_SEED=${DACLINE_CHAOS_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
LOGS=${DACLINE_CHAOS_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/dacline-chaos.XXXXXX")}
mkdir -p "$LOGS"
START=$SECONDS

# The programs under test, built once for every part that drives them.
export DACLINE_BIN=$LOGS/bin
mkdir -p "$DACLINE_BIN"
# `appliance` is the appliance's test binary: its TestMain installs the
# ceremony's crash hook from DACLINE_TEST_CRASH_AT (the program has no test hook).
go build -o "$DACLINE_BIN" ./lineclient/cmd/lineclient
go test -c -o "$DACLINE_BIN/appliance.test" ./appliance/cmd/appliance
ln -sf appliance.test "$DACLINE_BIN/appliance"

declare -a NAMES RESULTS LINES
FAILED=0

# part NAME PKG TESTS SUMMARY_RE: run go test -run TESTS in PKG, keep the output,
# and collect the lines matching SUMMARY_RE (the tests' "what it survived" lines).
part() {
    local name=$1 pkg=$2 tests=$3 re=$4 log=$LOGS/$1.log rc=0 t0=$SECONDS
    printf 'chaos: %-15s go test -run %s %s ... ' "$name" "$tests" "$pkg" >&2
    if ! go list "$pkg" >/dev/null 2>&1; then
        echo "not available (package not in this build)" >&2
        NAMES+=("$name") RESULTS+=("NOT AVAILABLE") LINES+=("package $pkg not in this build")
        FAILED=1
        return 0
    fi
    go test -count=1 -v -timeout 30m -run "$tests" "$pkg" >"$log" 2>&1 || rc=$?
    local lines
    lines=$(grep -E "$re" "$log" | sed -E 's/^ *[a-z_]+_test\.go:[0-9]+: //' || true)
    # Subtest verdicts are summarised as counts: "subtests: 8 passed (a b …)".
    local sub
    sub=$(grep -E '^ +--- (PASS|FAIL): ' "$log" || true)
    if [ -n "$sub" ]; then
        lines=$(printf '%s\n' "$lines" | grep -vE '^ *--- (PASS|FAIL): ' || true)
        lines+=$'\n'"subtests: $(grep -c -- '--- PASS' <<<"$sub") passed, $(grep -c -- '--- FAIL' <<<"$sub" || true) failed ($(sed -E 's/.*: [A-Za-z]+\/([^ ]+).*/\1/' <<<"$sub" | tr '\n' ' ' | sed 's/ $//'))"
        lines=${lines#$'\n'}
    fi
    local ran
    ran=$(grep -cE '^(=== RUN|--- (PASS|FAIL|SKIP))' "$log" || true)
    if grep -qE '^--- SKIP' "$log" && ! grep -qE '^--- (PASS|FAIL)' "$log"; then
        RESULTS+=("SKIPPED")
        FAILED=1
    elif [ "$rc" -eq 0 ] && [ "$ran" -gt 0 ]; then
        RESULTS+=("PASS")
    elif [ "$ran" -eq 0 ]; then
        RESULTS+=("NOT AVAILABLE")
        lines="no test matches $tests in $pkg"
        FAILED=1
    else
        RESULTS+=("FAIL")
        FAILED=1
    fi
    NAMES+=("$name")
    LINES+=("${lines:-(no summary line; see $log)}")
    printf '%s (%ds)\n' "${RESULTS[-1]}" "$((SECONDS - t0))" >&2
    if [ "${RESULTS[-1]}" = FAIL ]; then
        # The failing checks, without the flood of per-entry detail.
        grep -vE 'chaos: |seed [0-9]+ \(replay' "$log" | grep -A 4 -E '^ +[a-z_]+_test\.go:[0-9]+: ' | head -n 15 | sed 's/^ */    /' >&2 || true
    fi
}

echo "chaos: full outputs in $LOGS" >&2
part station-kills ./lineclient/runner '^TestKillAtRandomInstants$' 'kill test: [0-9]+ kills, [0-9]+ rounds'
part ceremony-points ./appliance/ceremony '^(TestResumeAfterCrash|TestSIGKILL)$' 'killed with [0-9]+ of [0-9]+ DACs'
part ceremony-kills ./lineclient/chaos '^TestCeremonyKills$' 'chaos: ceremony survived'
part faulty-shift ./lineclient/chaos '^TestFaultyShift$' 'chaos: shift survived'
part hostile-csrs ./lineclient/chaos '^TestHostileCSRs$' 'chaos: hostile CSRs'
part station-restore ./lineclient/chaos '^TestStationRestore$' 'chaos: station restore survived'
part damaged-store ./lineclient/chaos '^TestDamagedStore$' 'chaos: damaged stores survived'
part appliance-restore ./lineclient/chaos '^TestApplianceRestore$' 'chaos: appliance restore survived'

echo
echo "== dacline chaos — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $((SECONDS - START))s"
for i in "${!NAMES[@]}"; do
    printf '\n%-16s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}"
    printf '%s\n' "${LINES[$i]}" | fold -s -w 110 | sed 's/^/    /'
done
echo
echo "sizes: station kills $DACLINE_KILLS; ceremony kills $DACLINE_CHAOS_CEREMONY_KILLS, $DACLINE_CHAOS_CEREMONY_CSRS CSRs a batch; shift $DACLINE_CHAOS_SHIFT_JIGS jigs × $DACLINE_CHAOS_SHIFT_ROUNDS rounds, $DACLINE_CHAOS_SHIFT_KILLS station kills, faults $DACLINE_CHAOS_FAULTS; hostile CSRs $DACLINE_CHAOS_HOSTILE_ROUNDS batches; seed $DACLINE_CHAOS_SEED (DACLINE_CHAOS_SEED)"
echo "full outputs: $LOGS"
if [ "$FAILED" -ne 0 ]; then
    echo "chaos: FAILED — see the parts above" >&2
    exit 1
fi
echo "chaos: every part survived and every invariant holds"
