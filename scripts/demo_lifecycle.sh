# Sourced by scripts/demo.sh: the stages of an appliance that lasts for years
# (issue 17) — DAC revocation and the officer quorum. They use demo.sh's
# helpers (header, step, need, has, ok, say) and variables.

stage_revocation() {
    header "Revocation (security officer): a CRL signed by the PAI" \
        "A module is scrapped after its DAC was issued: the appliance signs an RFC 5280 CRL with the PAI key in the HSM listing its DAC, logs it, and exports the DCL fields and the revocation set commissioners read. openssl refuses the revoked DAC."
    need appliance crl issue || return 0
    [ -f "$OUT/first-dac.pem" ] || { say "no DAC to revoke"; return 0; }
    local serial
    serial=$(openssl x509 -in "$OUT/first-dac.pem" -noout -serial | cut -d= -f2)
    step crl.log appliance crl issue --out "$USB/crl.der" --serial "$serial" --reason cessationOfOperation --officer demo-officer --pin-file "$PIN_FILE"
    step crl-export.log appliance crl export --dcl "$OUT/dcl-revocation-point.json" --label demo-fff1-8000 --revocation-set "$OUT/revocation-set.json"
    if command -v openssl >/dev/null; then
        step openssl-crl.log openssl crl -inform DER -in "$USB/crl.der" -CAfile "$APP_HOME/pai.pem" -noout -verify
        openssl crl -inform DER -in "$USB/crl.der" -out "$OUT/crl.pem"
        cat "$APP_HOME/paa.pem" "$APP_HOME/pai.pem" "$OUT/crl.pem" >"$OUT/chain-crl.pem"
        if openssl verify -crl_check -CAfile "$OUT/chain-crl.pem" "$OUT/first-dac.pem" >"$LOGS/openssl-revoked.log" 2>&1; then
            echo "demo: openssl accepted the revoked DAC" >&2
            return 1
        fi
        ok "openssl verify -crl_check: $(grep -o 'certificate revoked' "$LOGS/openssl-revoked.log" | head -n 1)"
    fi
    if has lineclient crl import; then
        step crl-import.log lineclient crl import "$USB/crl.der"
    fi
}

stage_quorum() {
    header "Officer quorum: any 2 of 3 officers unlock a second appliance" \
        "Its token PINs are random and split (Shamir over GF(256)) into three shares, each encrypted to one officer's own age key. Alice and Carol together unlock it; the audit log names them, never a share."
    need appliance quorum show || return 0
    command -v age-keygen >/dev/null || { say "age-keygen not installed: skipped"; return 0; }
    local q=$WORK/quorum o
    mkdir -p "$q/shares"
    for o in alice bob carol; do age-keygen -o "$q/$o.key" 2>/dev/null; done
    step quorum-init.log "$BIN/appliance" --home "$q/appliance" init --new-softhsm-token --name demo-quorum --quorum 2 \
        --shares-out "$q/shares" --officer "alice=$(age-keygen -y "$q/alice.key")" \
        --officer "bob=$(age-keygen -y "$q/bob.key")" --officer "carol=$(age-keygen -y "$q/carol.key")"
    if "$BIN/appliance" --home "$q/appliance" paa create-test --vid FFF1 --share "$q/shares/share-demo-quorum-alice.age" \
        --share-identity "$q/alice.key" >"$LOGS/quorum-one.log" 2>&1; then
        echo "demo: one share unlocked the appliance" >&2
        return 1
    fi
    ok "one officer alone is refused: $(head -n 1 "$LOGS/quorum-one.log" | sed 's/^appliance: error: //')"
    step quorum-unlock.log "$BIN/appliance" --home "$q/appliance" paa create-test --vid FFF1 \
        --share "$q/shares/share-demo-quorum-alice.age" --share-identity "$q/alice.key" \
        --share "$q/shares/share-demo-quorum-carol.age" --share-identity "$q/carol.key"
    step quorum-log.log "$BIN/appliance" --home "$q/appliance" log show --last 3
}
