# dacline — recipes for setup, build, test, bench, fuzz, chaos and the demo.
# Quick start on a fresh machine with Go and Node.js:
#   npx --yes rust-just demo     # a whole factory run on SoftHSM2 and simulated modules
#   npx --yes rust-just test     # every test, with the race detector

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := justfile_directory() / "bin"
export GOFLAGS := "-mod=readonly"

default:
    @just --list

# Install what is missing (softhsm2, opensc, age, openssl, poppler-utils for the label tests; gcc, make, libmbedtls-dev, clang and its libFuzzer runtime for the C firmware; node/npm and the pinned esptool-js for the ROM-loader interop test); never reinstalls.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    [ -e /usr/lib/softhsm/libsofthsm2.so ] && command -v softhsm2-util >/dev/null || missing+=(softhsm2)
    command -v pkcs11-tool >/dev/null || missing+=(opensc)
    command -v age >/dev/null && command -v age-keygen >/dev/null || missing+=(age)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null && command -v pdffonts >/dev/null || missing+=(poppler-utils)
    command -v cc >/dev/null || missing+=(gcc)
    command -v make >/dev/null || missing+=(make)
    [ -e /usr/include/mbedtls/version.h ] || missing+=(libmbedtls-dev)
    command -v clang >/dev/null || missing+=(clang)
    compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a' >/dev/null || missing+=(libclang-rt-dev)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v go >/dev/null || { echo "setup: error: Go is not installed (https://go.dev/doc/install)" >&2; exit 1; }
    if [ ${#missing[@]} -eq 0 ]; then
        echo "setup: softhsm2, opensc, age, openssl, poppler-utils, gcc, make, libmbedtls-dev, clang, libclang-rt-dev, node, npm present"
    else
        sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        echo "setup: installing ${missing[*]}"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    # esptool-js for the ROM-loader interop test, pinned by its lock file.
    esptooljs=lineclient/sim/testdata/esptooljs
    if [ ! -e "$esptooljs/node_modules/esptool-js/package.json" ]; then
        echo "setup: npm ci in $esptooljs (esptool-js)"
        (cd "$esptooljs" && npm ci --no-audit --no-fund)
    fi

# Build the programs into ./bin: appliance, lineclient and the C firmware's dacline-module.
build:
    mkdir -p {{bin}}
    go build -o {{bin}}/appliance ./appliance/cmd/appliance
    go build -o {{bin}}/lineclient ./lineclient/cmd/lineclient
    make -s -C lineclient/firmware BIN={{bin}}

# Build the C reference firmware's host program, bin/dacline-module (lineclient/firmware).
firmware:
    make -s -C lineclient/firmware BIN={{bin}}

# Unit and integration tests (SoftHSM2, PTYs, bbolt, age/openssl interop) with -race; the C firmware's unit tests under ASan+UBSan.
test: setup
    make -s -C lineclient/firmware test
    go vet ./...
    # -p 1: one test binary at a time. PTY numbers are machine-wide and a station
    # reopens a lost port by its path, so a test's station could take the new PTY
    # another package's simulator was just given (seen as "serial port busy").
    go test -race -count=1 -p 1 -timeout 20m ./...

# One benchmark report: ceremony vs raw C_Sign vs openssl, bundles, station ports, audit (sizes: see scripts/bench.sh).
bench: setup
    bash scripts/bench.sh

# Every benchmark of every package once, raw go test output.
bench-all: setup
    go test -run '^$' -bench . -benchtime 1x -timeout 30m ./...

# Kill the station, kill the ceremony, run a shift on a faulty line; check every invariant (sizes: see scripts/chaos.sh).
chaos: setup
    bash scripts/chaos.sh

# Every fuzz target for a short while each.
fuzz seconds="10": setup
    #!/usr/bin/env bash
    set -euo pipefail
    for pkg in $(go list ./...); do
        dir=$(go list -f '{{{{.Dir}}' "$pkg")
        for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
            echo "fuzz: $pkg $target"
            go test -run '^$' -fuzz "^${target}\$" -fuzztime {{seconds}}s "$pkg"
        done
    done
    echo "fuzz: lineclient/firmware fuzz_frame (libFuzzer)"
    make -s -C lineclient/firmware fuzz
    mkdir -p lineclient/firmware/build/corpus
    lineclient/firmware/build/fuzz_frame -max_total_time={{seconds}} -print_final_stats=0 lineclient/firmware/build/corpus

# The one-command tour: a whole factory run in a temporary directory.
demo: setup build
    bash scripts/demo.sh {{bin}}
