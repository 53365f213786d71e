#!/usr/bin/env bash
# dacline benchmarks — one run, one report (`just bench`).
#
#   usage: scripts/bench.sh
#
# Runs every benchmark that has a figure in the issues (3–8) once
# (-benchtime 1x), one after the other (parallel runs would share the CPUs and
# distort each other), collects the figures the benchmarks report with
# b.ReportMetric, measures an `openssl x509 -req` baseline in the same run, and
# prints one table with the ratios. A benchmark that is not in this build is
# reported as "not available" — never estimated; a benchmark that fails makes
# the script exit 1 after the report.
#
# Sizes (the defaults are the issues' figures; the whole run takes ~2.5 minutes on 2 cores):
#   DACLINE_BENCH_CEREMONY_CSRS=100000  CSRs in the ceremony batch (issue 5 figure)
#   DACLINE_BENCH_BUNDLE_CSRS=100000    CSRs in the csr-batch bundle
#   DACLINE_BENCH_OPENSSL_CSRS=200      CSRs signed by the openssl x509 -req loop
#   DACLINE_AUDIT_BENCH_N=1000000       entries in the audit export (issue 6 figure)
#   DACLINE_BENCH_LOGS=DIR              keep every benchmark's full output in DIR (default: a temp dir)
set -euo pipefail

cd "$(dirname "$0")/.."
CEREMONY_N=${DACLINE_BENCH_CEREMONY_CSRS:-100000}
BUNDLE_N=${DACLINE_BENCH_BUNDLE_CSRS:-100000}
OPENSSL_N=${DACLINE_BENCH_OPENSSL_CSRS:-200}
AUDIT_N=${DACLINE_AUDIT_BENCH_N:-1000000}
for v in CEREMONY_N BUNDLE_N OPENSSL_N AUDIT_N; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v=${!v}: want a positive integer" >&2; exit 2; }
done
LOGS=${DACLINE_BENCH_LOGS:-$(mktemp -d "${TMPDIR:-/tmp}/dacline-bench.XXXXXX")}
mkdir -p "$LOGS"
METRICS=$LOGS/metrics.tsv # bench <TAB> unit <TAB> value
: >"$METRICS"
FAILED=()
START=$SECONDS

# --- running and parsing ---------------------------------------------------------

# status[key] = ok | missing | failed  (key = short name of a benchmark)
declare -A STATUS NOTE

# bench KEY PKG NAME [ENV=VALUE...]: run benchmark NAME of package PKG once and
# record its metrics under KEY. The package or the benchmark may not exist yet.
bench() {
    local key=$1 pkg=$2 name=$3
    shift 3
    local log=$LOGS/$key.log
    if ! go list "$pkg" >/dev/null 2>&1; then
        STATUS[$key]=missing NOTE[$key]="package $pkg not in this build"
        printf 'bench: %-10s not available (package %s not in this build)\n' "$key" "$pkg" >&2
        return 0
    fi
    printf 'bench: %-10s go test -bench ^%s$ %s %s ... ' "$key" "$name" "$pkg" "$*" >&2
    local t0=$SECONDS rc=0
    env "$@" go test -run '^$' -bench "^${name}\$" -benchtime 1x -benchmem=false -timeout 20m -v "$pkg" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        STATUS[$key]=failed NOTE[$key]="exit $rc, see $log"
        FAILED+=("$key")
        printf 'FAILED (exit %d, %ds)\n' "$rc" "$((SECONDS - t0))" >&2
        tail -n 20 "$log" | sed 's/^/    /' >&2
        return 0
    fi
    # A result line: BenchmarkName-2   1   123 ns/op   4.5 unit   ...
    if ! grep -qE "^${name}(-[0-9]+)?[[:space:]]+[0-9]+" "$log"; then
        STATUS[$key]=missing NOTE[$key]="no $name in $pkg"
        printf 'not available (no %s in %s)\n' "$name" "$pkg" >&2
        return 0
    fi
    grep -E "^${name}(-[0-9]+)?[[:space:]]+[0-9]+" "$log" | tail -n 1 |
        awk -v k="$key" '{ for (i = 3; i + 1 <= NF; i += 2) printf "%s\t%s\t%s\n", k, $(i+1), $i }' >>"$METRICS"
    STATUS[$key]=ok
    printf 'done (%ds)\n' "$((SECONDS - t0))" >&2
}

# m KEY UNIT: the recorded value, or empty.
m() { awk -F'\t' -v k="$1" -v u="$2" '$1 == k && $2 == u { v = $3 } END { if (v != "") print v }' "$METRICS"; }

# --- the openssl baseline ----------------------------------------------------------

# openssl_baseline: sign OPENSSL_N P-256 CSRs (made beforehand, not timed) with a
# P-256 CA key in a PEM file, one `openssl x509 -req` process per CSR — what a
# factory script without an HSM does — with the DAC profile's extensions and a
# 16-byte random serial. Records openssl/dacs/s.
openssl_baseline() {
    local key=openssl dir=$LOGS/openssl log=$LOGS/openssl.log
    if ! command -v openssl >/dev/null; then
        STATUS[$key]=missing NOTE[$key]="openssl not installed"
        return 0
    fi
    printf 'bench: %-10s openssl x509 -req loop over %d CSRs ... ' "$key" "$OPENSSL_N" >&2
    mkdir -p "$dir/csr" "$dir/dac"
    {
        openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
        openssl req -new -x509 -key "$dir/ca.key" -subj "/CN=Bench PAI/1.3.6.1.4.1.37244.2.1=FFF1" -days 3650 \
            -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -out "$dir/ca.pem"
        cat >"$dir/ext.cnf" <<'EOF'
[dac]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
        local i
        for ((i = 0; i < OPENSSL_N; i++)); do
            openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null \
                -subj "/CN=module" -out "$dir/csr/$i.pem" 2>/dev/null
        done
    } >"$log" 2>&1 || {
        STATUS[$key]=failed NOTE[$key]="setup failed, see $log"
        FAILED+=("$key")
        echo "FAILED" >&2
        return 0
    }
    # Serials are drawn before the clock starts: one process per DAC, as in a loop
    # over a directory of CSRs, and nothing else timed.
    local serials t0 t1 i rc=0
    mapfile -t serials < <(head -c $((16 * OPENSSL_N)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w 32)
    t0=$(date +%s.%N)
    for ((i = 0; i < OPENSSL_N; i++)); do
        openssl x509 -req -in "$dir/csr/$i.pem" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -sha256 \
            -set_serial "0x${serials[$i]}" -days 36500 \
            -subj "/CN=Matter DAC/1.3.6.1.4.1.37244.2.1=FFF1/1.3.6.1.4.1.37244.2.2=8000" \
            -extfile "$dir/ext.cnf" -extensions dac -out "$dir/dac/$i.pem" >>"$log" 2>&1 || { rc=$?; break; }
    done
    t1=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then
        STATUS[$key]=failed NOTE[$key]="openssl x509 -req exit $rc, see $log"
        FAILED+=("$key")
        echo "FAILED" >&2
        return 0
    fi
    # Every certificate must verify: a baseline that signs garbage is no baseline.
    if ! openssl verify -CAfile "$dir/ca.pem" "$dir/dac/0.pem" "$dir/dac/$((OPENSSL_N - 1)).pem" >>"$log" 2>&1; then
        STATUS[$key]=failed NOTE[$key]="openssl verify of its own DACs failed, see $log"
        FAILED+=("$key")
        echo "FAILED" >&2
        return 0
    fi
    printf 'openssl\tdacs/s\t%s\n' "$(awk -v n="$OPENSSL_N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')" >>"$METRICS"
    STATUS[$key]=ok
    printf 'done (%.1fs)\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" >&2
}

# --- the run -----------------------------------------------------------------------

echo "bench: full outputs in $LOGS" >&2
bench hsm ./appliance/hsm BenchmarkP256Sign
bench ceremony ./appliance/ceremony BenchmarkCeremony DACLINE_BENCH_CSRS="$CEREMONY_N"
openssl_baseline
bench bundle ./airgap-bundles/bundle BenchmarkBundle100kCSRs DACLINE_BENCH_CSRS="$BUNDLE_N"
bench ports ./lineclient/runner BenchmarkPorts
bench stationcpu ./lineclient/runner BenchmarkStationCPU
bench modulecpu ./lineclient/firmware BenchmarkModuleCPU
bench audit ./shared/auditlog BenchmarkVerifyExport DACLINE_AUDIT_BENCH_N="$AUDIT_N"

# --- the report --------------------------------------------------------------------

# fmtn VALUE: thousands separators, no decimals above 100, two below.
fmtn() { awk -v v="$1" 'BEGIN {
    if (v == "") { print "-"; exit }
    if (v + 0 >= 100) { s = sprintf("%.0f", v); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }
    else printf "%.2f\n", v }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.4f", a / b }'; }
# row LABEL VALUE UNIT [COMMENT]
row() { printf '  %-46s %12s %-11s %s\n' "$1" "$(fmtn "$2")" "$3" "${4:-}"; }
# absent KEY LABEL: the row for a benchmark that has no figure.
absent() {
    case ${STATUS[$1]:-missing} in
    failed) printf '  %-46s %12s %s\n' "$2" "FAILED" "(${NOTE[$1]})" ;;
    *) printf '  %-46s %12s %s\n' "$2" "not available" "(${NOTE[$1]:-not run})" ;;
    esac
}
ratio() { # ratio R: "1.23×", small ones with two significant digits
    if [ -z "$1" ]; then printf -- '-'; return; fi
    awk -v r="$1" 'BEGIN { if (r < 0.1) printf "%.2g×", r; else printf "%.2f×", r }'
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo
echo "== dacline bench — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu:-unknown CPU}), $(go env GOVERSION)"
echo "   SoftHSM2 $(softhsm2-util --version 2>/dev/null || echo '?'), $(openssl version 2>/dev/null | cut -d' ' -f1-2)"
echo "   every figure below was measured in this run; ratios compare figures of this run only"

echo
echo "Signing DACs (P-256, SoftHSM2 token vs a key file)"
raw=$(m ceremony raw-C_Sign/s)
if [ "${STATUS[ceremony]}" = ok ]; then
    dacs=$(m ceremony dacs/s)
    row "ceremony end to end, N=$CEREMONY_N CSRs" "$dacs" "DACs/s" "$(ratio "$(m ceremony ratio)") raw C_Sign (issue 5 target ≥ 0.50×)"
    row "raw single-session C_Sign, same token" "$raw" "sigs/s" "1.00× (baseline)"
    row "ceremony peak RSS" "$(m ceremony peak-MB)" "MB" "anonymous $(fmtn "$(m ceremony peak-anon-MB)") MB"
else
    absent ceremony "ceremony end to end, N=$CEREMONY_N CSRs"
    absent ceremony "raw single-session C_Sign, same token"
fi
if [ "${STATUS[openssl]}" = ok ]; then
    ossl=$(m openssl dacs/s)
    row "openssl x509 -req loop, N=$OPENSSL_N, key file" "$ossl" "DACs/s" "$(ratio "$(div "$ossl" "$raw")") raw C_Sign"
    [ "${STATUS[ceremony]}" = ok ] && row "  ceremony ÷ openssl loop" "$(div "$dacs" "$ossl")" "×" ""
else
    absent openssl "openssl x509 -req loop, N=$OPENSSL_N, key file"
fi
if [ "${STATUS[hsm]}" = ok ]; then
    row "HSM pool sign+verify (DER), parallel" "$(m hsm pool-sign+verify/s)" "sigs/s" "$(ratio "$(m hsm pool/raw)") its raw C_Sign ($(fmtn "$(m hsm raw-C_Sign/s)")/s, 2000 sigs)"
else
    absent hsm "HSM pool sign+verify vs raw C_Sign"
fi

echo
echo "Air-gap bundles (csr-batch of N=$BUNDLE_N CSRs$([ "${STATUS[bundle]}" = ok ] && printf ', %s MB payload' "$(fmtn "$(m bundle payload-MB)")"))"
if [ "${STATUS[bundle]}" = ok ]; then
    row "write: seal, encrypt, durable write, read-back" "$(m bundle write-MB/s)" "MB/s" "$(ratio "$(m bundle write-x-baseline)") copy+SHA-256 ($(fmtn "$(m bundle baseline-MB/s)") MB/s), peak RSS $(fmtn "$(m bundle write-peakRSS-MB)") MB"
    row "read: decrypt, verify, stream every CSR" "$(m bundle read-MB/s)" "MB/s" "$(ratio "$(m bundle read-x-baseline)") copy+SHA-256, peak RSS $(fmtn "$(m bundle read-peakRSS-MB)") MB"
else
    absent bundle "bundle write/read"
fi

echo
echo "Station (simulated modules on pseudo-terminals)"
if [ "${STATUS[ports]}" = ok ]; then
    row "modules/hour, 1 port (--timing real)" "$(m ports modules/h-1port)" "modules/h" "2 modules through the jig"
    row "modules/hour, 16 ports (--timing real)" "$(m ports modules/h-16ports)" "modules/h" "$(ratio "$(m ports ratio-16/1)") 1 port (issue 8 target ≥ 15×)"
else
    absent ports "modules/hour, 1 and 16 ports (--timing real)"
fi
if [ "${STATUS[stationcpu]}" = ok ]; then
    row "station CPU per module (--timing fast), net" "$(m stationcpu ms-cpu/module-net)" "ms" "16 ports; issue 8: around 1–2 ms"
    row "  gross (incl. process start, idle polling)" "$(m stationcpu ms-cpu/module-gross)" "ms" "an empty run costs $(fmtn "$(m stationcpu ms-cpu/empty-run)") ms"
else
    absent stationcpu "station CPU per module (--timing fast)"
fi

echo
echo "Module side (CPU per provisioned module, waits excluded: keygen+CSR, storage, attestation, lock)"
if [ "${STATUS[modulecpu]}" = ok ]; then
    row "C reference firmware (dacline-module, POSIX HAL)" "$(m modulecpu c-ms-cpu/module)" "ms" "$(ratio "$(m modulecpu c/go)") the Go simulator; keygen+CSR $(fmtn "$(m modulecpu c-keygen+csr-ms)"), storage $(fmtn "$(m modulecpu c-storage-ms)"), attest $(fmtn "$(m modulecpu c-attest-ms)"), lock $(fmtn "$(m modulecpu c-lock-ms)") ms"
    row "Go simulator (lineclient sim --timing fast)" "$(m modulecpu go-ms-cpu/module)" "ms" "1.00× (baseline); keygen+CSR $(fmtn "$(m modulecpu go-keygen+csr-ms)"), storage $(fmtn "$(m modulecpu go-storage-ms)"), attest $(fmtn "$(m modulecpu go-attest-ms)"), lock $(fmtn "$(m modulecpu go-lock-ms)") ms"
else
    absent modulecpu "C firmware vs Go simulator, CPU per module"
fi

echo
echo "Audit (auditor's verifier, N=$AUDIT_N entries)"
if [ "${STATUS[audit]}" = ok ]; then
    row "audit verifier (shared/auditlog), wall" "$(m audit entries/s)" "entries/s" "takes $(ratio "$(m audit x-baseline)") the time of read+leaf-hash only"
    row "  per CPU-second" "$(m audit entries/cpu-s)" "entries/s" "1,000,000 entries ≈ $(awk -v r="$(m audit entries/s)" 'BEGIN { printf "%.1f", 1e6 / r }') s at this rate"
    row "  live heap per entry" "$(m audit live-heap-B/entry)" "B" ""
else
    absent audit "audit verification"
fi

echo
echo "sizes: ceremony $CEREMONY_N, openssl $OPENSSL_N, bundle $BUNDLE_N, audit $AUDIT_N (DACLINE_BENCH_CEREMONY_CSRS, DACLINE_BENCH_OPENSSL_CSRS, DACLINE_BENCH_BUNDLE_CSRS, DACLINE_AUDIT_BENCH_N)"
echo "all metrics: $METRICS; full outputs: $LOGS; total $((SECONDS - START))s"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "bench: FAILED: ${FAILED[*]}" >&2
    exit 1
fi
