#!/usr/bin/env bash
# Rehearses the dealer ceremony of RUNBOOK.md on one machine: three custodian identity keys, the deal,
# each custodian accepting its share, and the final check. Usage: keyceremony/dealer-ceremony.sh REGION DIR
# Passphrases come from $SDT_PASSPHRASE (a rehearsal only: real custodians each type their own).
set -euo pipefail
region="${1:?usage: dealer-ceremony.sh REGION DIR}"
dir="${2:?usage: dealer-ceremony.sh REGION DIR}"
sdt="${SDT:-.build/debug/sdt}"
: "${SDT_PASSPHRASE:?set SDT_PASSPHRASE for the rehearsal}"
mkdir -p "$dir"
names=(ana ben cai)
args=()
for name in "${names[@]}"; do
    key=$("$sdt" custodian keygen --out "$dir/identity-$name.json" | awk '/identity public key/ {print $4}')
    args+=(--custodian "$name=$key")
done
"$sdt" ceremony deal --region "$region" --out "$dir/ceremony" "${args[@]}"
for index in 1 2 3; do
    name=${names[$((index - 1))]}
    "$sdt" custodian accept --transcript "$dir/ceremony/transcript.json" --sealed-share "$dir/ceremony/share-$index-$name.sealed" \
        --identity "$dir/identity-$name.json" --out "$dir/share-$index-$name.json"
done
"$sdt" ceremony verify "$dir/ceremony/transcript.json"
