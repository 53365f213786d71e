#!/usr/bin/env bash
# dacline demo — a whole factory run in a temporary directory (`just demo`).
#
#   usage: scripts/demo.sh BIN_DIR        (BIN_DIR holds the built appliance and lineclient)
#
# It plays every role of docs/security-officer.md, docs/line-operator.md and
# docs/auditor.md with the same commands: a SoftHSM2 appliance with a development
# PAA/PAI and Certification Declaration, one enrolled station, 24 simulated modules
# on pseudo-terminals, keygen, the CSR batch across the "air gap" (a directory
# standing in for the USB stick), the signing ceremony, the DAC batch back,
# credentials written, attestation checked, modules locked, manifest and labels,
# the audit log exported and verified.
#
# Environment:
#   DEMO_KEEP=0       remove the demo directory after a successful run (default: keep it
#                     to look at; a failed run is always kept)
#   DEMO_MODULES=N    number of simulated modules (default 24)
#   DEMO_DIR=DIR      use DIR (must not exist) instead of a new temporary directory
#
# Every stage is a function that needs certain commands. A stage whose command is
# not in this build is reported as missing — never imitated — and the demo then
# exits 1 ("incomplete"); any failing command stops the demo with exit 1 at once.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -x "$1/appliance" ] || [ ! -x "$1/lineclient" ]; then
    echo "usage: scripts/demo.sh BIN_DIR   (run 'just build' first; BIN_DIR holds appliance and lineclient)" >&2
    exit 2
fi
BIN=$(cd "$1" && pwd)
MODULES=${DEMO_MODULES:-24}
KEEP=${DEMO_KEEP:-1}
VID=FFF1
PID=8000

if [ -n "${DEMO_DIR:-}" ]; then
    mkdir "$DEMO_DIR"
    WORK=$(cd "$DEMO_DIR" && pwd)
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/dacline-demo.XXXXXX")
fi
chmod 700 "$WORK"
APP_HOME=$WORK/appliance        # the appliance's home (air-gapped side)
STATION_HOME=$WORK/station      # the station's home (factory side)
USB=$WORK/usb                   # stands in for the USB stick carried between them
SIM=$WORK/sim                   # simulator: module state and its stderr
OUT=$WORK/out                   # manifest, labels, audit log export
LOGS=$WORK/logs                 # full output of every command
PIN_FILE=$WORK/hsm-pin          # the HSM user PIN (0600, random, never on a command line)
mkdir -p "$USB" "$SIM" "$OUT" "$LOGS"

# --- presentation -------------------------------------------------------------

if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; Y=$'\e[33m'; R=$'\e[31m'; N=$'\e[0m'; else B= G= Y= R= N=; fi
START=$SECONDS
STAGE=""
MISSING=()

STEP_NO=0
header() { # header TITLE WHY
    STAGE="$STEP_NO. $1"
    STEP_NO=$((STEP_NO + 1))
    printf '\n%s== %s%s\n' "$B" "$STAGE" "$N"
    printf '%s\n' "$2" | fold -s -w 88 | sed 's/^/   /'
}
say() { printf '   %s\n' "$*"; }
ok() { printf '   %s✓ %s%s\n' "$G" "$*" "$N"; }

# appliance / lineclient run the built programs on their homes; short() prints a
# command or path as the user reads it ($DEMO for the demo directory, no bin dir).
appliance() { "$BIN/appliance" --home "$APP_HOME" "$@"; }
lineclient() { "$BIN/lineclient" --home "$STATION_HOME" "$@"; }
short() { local s="$*"; s=${s//$BIN\//}; s=${s//$WORK/\$DEMO}; printf '%s' "$s"; }

# step LOG PROG ARGS...: print the command, run it, indent its output, keep it in
# $LOGS/LOG. With pipefail a failing command fails the step (and the demo).
step() {
    local log=$1; shift
    printf '   %s$ %s%s\n' "$Y" "$(short "$@")" "$N"
    "$@" 2>&1 | tee "$LOGS/$log" | sed "s|$WORK|\$DEMO|g; s/^/     /"
}
# has PROG WORDS...: the build has this command (its --help exits 0).
has() { local p=$1; shift; "$BIN/$p" "$@" --help >/dev/null 2>&1; }
# need PROG WORDS...: as has, but records the command as missing.
BLOCKED=""
need() {
    if has "$@"; then return 0; fi
    MISSING+=("$*")
    BLOCKED="$*"
    printf '   %sNOT IN THIS BUILD: `%s` — this stage and the ones after it that need it are skipped%s\n' "$R" "$*" "$N"
    return 1
}
newest() { ls -t $1 2>/dev/null | head -n 1; } # newest FILE matching the glob

# --- cleanup ------------------------------------------------------------------

SIM_PID=""
stop_sim() {
    if [ -n "$SIM_PID" ] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill -TERM "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    SIM_PID=""
}
on_exit() {
    local rc=$?
    stop_sim
    if [ "$rc" -ne 0 ] && [ -n "$STAGE" ]; then
        printf '\n%sdemo: FAILED in "%s" (exit %d); outputs of every step are in %s%s\n' "$R" "$STAGE" "$rc" "$LOGS" "$N" >&2
    fi
    if [ "$KEEP" = 0 ] && [ "$rc" -eq 0 ]; then
        rm -rf "$WORK"
    else
        printf '\ndemo directory kept: %s  (remove it with: rm -rf %s; with DEMO_KEEP=0 a successful run removes it)\n' "$WORK" "$WORK" >&2
    fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# --- the stages ---------------------------------------------------------------

# shellcheck source=scripts/demo_lifecycle.sh
. "$(dirname "$0")/demo_lifecycle.sh"

stage_pin() {
    header "The HSM PIN" \
        "The officer's PIN never appears on a command line: it is kept in a file only its owner can read and given with --pin-file (or typed at a prompt, or in \$DACLINE_HSM_PIN)."
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '\n/+=' >"$PIN_FILE")
    ok "random PIN in $(short "$PIN_FILE") (mode $(stat -c %a "$PIN_FILE"))"
}

stage_appliance() {
    header "Appliance: token and keys (security officer)" \
        "A new SoftHSM2 token inside the appliance home; the Ed25519 appliance signing key, the P-256 PAI key and the AES key that seals the appliance's age identity are generated inside it, non-extractable."
    need appliance init || return 0
    step init.log appliance init --new-softhsm-token --name demo-appliance --pin-file "$PIN_FILE"
}

stage_pki() {
    header "Appliance: development PAA and PAI" \
        "Test vendor ID $VID only: a test PAA key and self-signed certificate on the token, then a PAI certificate for the token's PAI key, signed by that PAA."
    need appliance paa create-test && need appliance pai create-test || return 0
    step paa.log appliance paa create-test --vid "$VID" --pin-file "$PIN_FILE"
    step pai.log appliance pai create-test --vid "$VID" --pid "$PID" --pin-file "$PIN_FILE"
    if command -v openssl >/dev/null; then
        step openssl-verify.log openssl verify -x509_strict -CAfile "$APP_HOME/paa.pem" "$APP_HOME/pai.pem"
    fi
}

stage_cd() {
    header "Development Certification Declaration" \
        "The CD every module carries says which VID/PID it certifies (in production the CSA issues it). For test vendor IDs a development CD is signed by a test CD signing key kept off the stick; only cd.der goes to the station. It names the test PAA as the only authorized PAA."
    need appliance cd create-test || return 0
    mkdir -p "$WORK/cd"
    step cd.log appliance cd create-test --vid "$VID" --pid "$PID" --authorized-paa "$APP_HOME/paa.pem" --out "$WORK/cd/cd.der"
    cp "$WORK/cd/cd.der" "$USB/cd.der"
    ok "cd.der copied to the stick; the test signer's key stays in $(short "$WORK/cd") (mode $(stat -c %a "$WORK/cd/cd-signer-key.pem"))"
}

stage_identity() {
    header "Appliance identity for stations" \
        "Public only: the appliance's age recipient, its Ed25519 key, the PAI and PAA, and a fingerprint the officer reads aloud."
    need appliance identity || return 0
    step identity.log appliance identity --out "$USB/appliance.id" --pin-file "$PIN_FILE"
}

stage_station() {
    header "Station setup and enrollment (line operator + security officer)" \
        "The station gets its own age and Ed25519 keys and the appliance's trust anchors, and writes an enrollment bundle; the officer enrolls it after comparing the fingerprint (--yes: compared beforehand)."
    need lineclient init && need lineclient enroll && need appliance station enroll || return 0
    step station-init.log lineclient init --appliance "$USB/appliance.id" --vid "$VID" --pid "$PID" --cd "$USB/cd.der" --name demo-station
    step enroll.log lineclient enroll --out "$USB"
    local bundle
    bundle=$(newest "$USB/enrollment-*.age")
    [ -n "$bundle" ] || { echo "demo: lineclient enroll wrote no enrollment-*.age in $USB" >&2; return 1; }
    step station-enroll.log appliance station enroll --yes --pin-file "$PIN_FILE" "$bundle"
    if has appliance station list; then step station-list.log appliance station list; fi
}

stage_policy() {
    header "Signing policy (security officer)" \
        "Which products each enrolled station may get DACs for, batch size and quota, DAC validity and subject. Strictly parsed; its SHA-256 is recorded with every ceremony."
    need appliance policy set || return 0
    cat >"$WORK/policy.json" <<POLICY
{
  "version": 1,
  "max_batch_size": 1000,
  "dac": {"common_name": "dacline demo DAC {serial}"},
  "stations": [
    {"name": "demo-station", "products": [{"vid": "$VID", "pids": ["$PID"]}], "max_dacs": 1000}
  ]
}
POLICY
    sed 's/^/     /' "$WORK/policy.json"
    step policy.log appliance policy set "$WORK/policy.json"
}

PORTS=()
stage_sim() {
    header "$MODULES simulated modules on the jigs" \
        "lineclient sim starts one virtual module per pseudo-terminal; the station reaches them through go.bug.st/serial exactly as it would /dev/ttyUSB0."
    need lineclient sim || return 0
    printf '   %s$ lineclient sim --count %s --timing fast --state $DEMO/sim/state &%s\n' "$Y" "$MODULES" "$N"
    "$BIN/lineclient" sim --count "$MODULES" --timing fast --state "$SIM/state" >"$SIM/ports" 2>"$SIM/sim.log" &
    SIM_PID=$!
    local i
    for i in $(seq 100); do
        [ "$(wc -l <"$SIM/ports")" -ge "$MODULES" ] && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$SIM/sim.log" >&2; echo "demo: the simulator exited" >&2; return 1; }
        sleep 0.1
    done
    mapfile -t PORTS <"$SIM/ports"
    [ "${#PORTS[@]}" -ge "$MODULES" ] || { echo "demo: the simulator printed ${#PORTS[@]} of $MODULES ports" >&2; return 1; }
    ok "${#PORTS[@]} jigs: ${PORTS[0]} … ${PORTS[${#PORTS[@]}-1]} (simulator pid $SIM_PID)"
}

run_jigs() { # run_jigs LOG: one lineclient run over every port, until the jigs are idle
    kill -0 "$SIM_PID" 2>/dev/null || { echo "demo: the simulator is not running (interrupted?)" >&2; return 1; }
    local args=() p
    for p in "${PORTS[@]}"; do args+=(--port "$p"); done
    printf '   %s$ lineclient run --port %s … (%d ports) --until-idle --idle-timeout 2s%s\n' "$Y" "${PORTS[0]}" "${#PORTS[@]}" "$N"
    "$BIN/lineclient" --home "$STATION_HOME" run "${args[@]}" --until-idle --idle-timeout 2s >"$LOGS/$1" 2>&1 ||
        { sed 's/^/     /' "$LOGS/$1" | tail -n 40; return 1; }
    tail -n 8 "$LOGS/$1" | sed "s|$WORK|\$DEMO|g; s/^/     /"
    say "(full output: $(short "$LOGS/$1"))"
}

# expect_state STATE N: the station reports exactly N modules in STATE. The runs
# exit 0 when they stop cleanly (also on Ctrl-C, which bash then does not see),
# so the demo checks what they achieved rather than their exit code alone.
expect_state() {
    local got
    got=$("$BIN/lineclient" --home "$STATION_HOME" status --json | tr -d ' \n' |
        grep -o '"states":{[^}]*}' | head -n 1 | grep -o "\"$1\":[0-9]*" | cut -d: -f2 || true)
    if [ "${got:-0}" -ne "$2" ]; then
        echo "demo: expected $2 modules in state $1, the station reports ${got:-0} (lineclient status)" >&2
        return 1
    fi
    ok "$2 modules $1"
}

stage_keygen() {
    header "Keygen on every module (line operator)" \
        "Each module generates its P-256 key on-chip and answers with a CSR; the private key never crosses the wire. The station stores the CSR and fresh onboarding data (passcode, discriminator, salt, SPAKE2+ verifier)."
    need lineclient run || return 0
    run_jigs run-keygen.log
    if has lineclient status; then
        step status-1.log lineclient status
        expect_state key-generated "$MODULES"
    fi
}

stage_export() {
    header "CSR batch out (line operator → USB stick)" \
        "Every CSR not yet in a batch goes into one csr-batch bundle, signed by the station and encrypted to the appliance."
    need lineclient batch export || return 0
    step export.log lineclient batch export --out "$USB"
    CSR_BUNDLE=$(newest "$USB/csr-batch-*.age")
    [ -n "$CSR_BUNDLE" ] || { echo "demo: no csr-batch-*.age in $USB" >&2; return 1; }
}

stage_ceremony() {
    header "The signing ceremony (security officer, on the air-gapped appliance)" \
        "The appliance checks the bundle (enrolled station, signature, never seen before) and every CSR, issues one DAC per key with the PAI key in the HSM, logs every issuance and writes the dac-batch bundle back, encrypted to the station."
    need appliance sign || return 0
    step sign-dry-run.log appliance sign --dry-run --pin-file "$PIN_FILE" "$CSR_BUNDLE"
    step sign.log appliance sign --out "$USB" --officer demo-officer --pin-file "$PIN_FILE" "$CSR_BUNDLE"
    DAC_BUNDLE=$(newest "$USB/dac-batch-*.age")
    [ -n "$DAC_BUNDLE" ] || { echo "demo: no dac-batch-*.age in $USB" >&2; return 1; }
}

stage_import() {
    header "DAC batch in (line operator)" \
        "The station verifies the appliance's signature, every DAC's chain to its PAA, and that each DAC certifies exactly the key of its module's CSR."
    need lineclient batch import || return 0
    step import.log lineclient batch import "$DAC_BUNDLE"
}

stage_finish() {
    header "Credentials, attestation, lock (modules back on the jigs)" \
        "For each module: write DAC, PAI, CD and onboarding data; have it sign a fresh challenge with its DAC key and verify that as a commissioner would; then burn the lock eFuses and read the lock state back."
    need lineclient run || return 0
    run_jigs run-finish.log
    if has lineclient status; then
        step status-2.log lineclient status
        expect_state done "$MODULES"
    fi
}

stage_outputs() {
    header "Manifest and labels" \
        "One CSV row per finished module (docs/manifest.md) and a printable sheet of QR-code labels."
    need lineclient manifest && need lineclient labels || return 0
    step manifest.log lineclient manifest --out "$OUT/manifest.csv"
    step labels.log lineclient labels --out "$OUT/labels.pdf"
}

stage_log() {
    header "Audit log export (security officer)" \
        "The appliance signs a checkpoint of its append-only log with its HSM key and writes a log-export bundle for the auditors."
    need appliance log export || return 0
    mkdir -p "$OUT/log"
    step log-export.log appliance log export --out "$OUT/log" --pin-file "$PIN_FILE"
}

stage_audit() {
    header "Audit (auditor, on any machine, no HSM)" \
        "Checks every checkpoint signature, that the entries hash to them, and reconciles the issued DACs with the line manifest: every deployed DAC issued exactly once."
    need appliance audit verify || return 0
    local args=(--log "$OUT/log" --key "$USB/appliance.id")
    [ -f "$OUT/manifest.csv" ] && args+=(--manifest "$OUT/manifest.csv")
    # Receipts: the station opens its return bundle with the age reference tool
    # and its own identity; the auditor proves each DAC's tlog-proof against the log.
    if [ -n "${DAC_BUNDLE:-}" ] && command -v age >/dev/null; then
        mkdir -p "$OUT/receipts/return-batch"
        printf '   %s$ age -d -i $DEMO/station/age-identity.txt %s | tar -x -C $DEMO/out/receipts/return-batch%s\n' "$Y" "$(short "$DAC_BUNDLE")" "$N"
        age -d -i "$STATION_HOME/age-identity.txt" "$DAC_BUNDLE" | tar -x -C "$OUT/receipts/return-batch"
        say "$(ls "$OUT/receipts/return-batch" | tr '\n' ' ')"
        args+=(--bundles "$OUT/receipts")
        check_one_dac "$OUT/receipts/return-batch/dacs.jsonl"
    fi
    step audit.log "$BIN/appliance" audit verify "${args[@]}"
}

# check_one_dac DACS.JSONL: the first DAC of the return bundle checked the way a
# commissioner would (appliance cert validate: chain, Matter profile, CD) and by openssl.
check_one_dac() {
    has appliance cert validate || return 0
    local b64
    b64=$(head -n 1 "$1" | sed -n 's/.*"dac":"\([^"]*\)".*/\1/p')
    [ -n "$b64" ] || { echo "demo: no DAC in $1" >&2; return 1; }
    printf '%s' "$b64" | base64 -d >"$OUT/first-dac.der"
    step cert-validate.log "$BIN/appliance" cert validate --type dac --pai "$APP_HOME/pai.pem" --paa "$APP_HOME/paa.pem" \
        --cd "$USB/cd.der" --cd-signer "$WORK/cd/cd-signer-cert.pem" "$OUT/first-dac.der"
    if command -v openssl >/dev/null; then
        openssl x509 -inform DER -in "$OUT/first-dac.der" -out "$OUT/first-dac.pem"
        step openssl-dac.log openssl verify -x509_strict -CAfile "$APP_HOME/paa.pem" -untrusted "$APP_HOME/pai.pem" "$OUT/first-dac.pem"
    fi
}

# --- summary ------------------------------------------------------------------

summary() {
    printf '\n%s== Summary%s (%ds)\n' "$B" "$N" "$((SECONDS - START))"
    if [ -f "$OUT/manifest.csv" ]; then
        # Deployed rows only: unused rows are DACs of failed modules (docs/manifest.md).
        say "modules provisioned, attested and locked: $(awk -F, 'NR > 1 && $13 == "deployed"' "$OUT/manifest.csv" | wc -l) of $MODULES (deployed manifest rows)"
    fi
    if [ -f "$LOGS/sign.log" ]; then
        say "DACs issued by the ceremony: $(sed -n 's/^ *issued *\([0-9]*\).*/\1/p' "$LOGS/sign.log" | head -n 1), refused: $(sed -n 's/^ *refused *\([0-9]*\).*/\1/p' "$LOGS/sign.log" | head -n 1)"
    fi
    if [ -f "$LOGS/labels.log" ]; then say "labels: $(sed -n 's/^wrote \([0-9]*\) labels\{0,1\} .*/\1/p' "$LOGS/labels.log")"; fi
    if [ -f "$LOGS/audit.log" ]; then say "audit: $(tail -n 1 "$LOGS/audit.log" | sed 's/^ *//')"; fi
    say "demo directory:   $WORK"
    say "  appliance home: $(short "$APP_HOME")   (SoftHSM2 token in tokens/, appliance.db)"
    [ -d "$STATION_HOME" ] && say "  station home:   $(short "$STATION_HOME")"
    say "  USB stick:      $(short "$USB")   ($(ls "$USB" | paste -sd ' '))"
    [ -f "$OUT/manifest.csv" ] && say "  manifest:       $(short "$OUT/manifest.csv")"
    [ -f "$OUT/labels.pdf" ] && say "  labels:         $(short "$OUT/labels.pdf")"
    [ -d "$OUT/log" ] && say "  log export:     $(short "$OUT/log")"
    [ -d "$OUT/receipts" ] && say "  receipts:       $(short "$OUT/receipts")   (the return bundle, opened with age)"
    say "  every command's output: $(short "$LOGS")/*.log"
    say "  (\$DEMO stands for $WORK)"
}

main() {
    printf '%sdacline demo%s — a factory run in %s\n' "$B" "$N" "$WORK"
    printf 'appliance commands run with --home $DEMO/appliance, lineclient commands with --home $DEMO/station\n'
    stage_pin
    # A stage whose command is missing sets BLOCKED and returns; the stages after
    # it are skipped (they need its result). A failing command exits at once
    # (set -e: stages are called as plain commands, never inside && or ||).
    local s
    for s in stage_appliance stage_pki stage_identity stage_cd stage_station stage_policy stage_sim \
        stage_keygen stage_export stage_ceremony stage_import stage_finish stage_outputs; do
        if [ -n "$BLOCKED" ]; then
            printf '   %sskipped %s (needs `%s`)%s\n' "$R" "${s#stage_}" "$BLOCKED" "$N"
            continue
        fi
        "$s"
    done
    stop_sim
    # The audit stages run on whatever the appliance recorded, even after a gap.
    if [ -d "$APP_HOME" ]; then
        BLOCKED=""
        stage_log
        if [ -z "$BLOCKED" ]; then stage_audit; fi
        # Issue 17 (scripts/demo_lifecycle.sh): revocation and the officer quorum.
        if [ -z "$BLOCKED" ]; then stage_revocation; fi
        BLOCKED=""
        stage_quorum
    fi
    STAGE=""
    summary
    if [ ${#MISSING[@]} -gt 0 ]; then
        printf '\n%sdemo: INCOMPLETE — not in this build: %s%s\n' "$R" "$(printf '`%s` ' "${MISSING[@]}")" "$N" >&2
        exit 1
    fi
    printf '\n%sdemo: every step passed%s\n' "$G" "$N"
}

main
