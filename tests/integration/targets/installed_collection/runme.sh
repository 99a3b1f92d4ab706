#!/usr/bin/env bash
# The collection as users get it: build the tarball from a copy of the source
# that carries the usual test leftovers, prove none of them is packed, install
# it with ansible-galaxy into a collections path of its own, and prove that
#   - ansible-playbook xenfleet.network.site (and .adopt) resolve from the
#     installed artifact, and nowhere else;
#   - ansible-doc renders every module and filter from it;
#   - a checkout's root site.yml still resolves (it imports playbooks/site.yml).
set -euo pipefail

# Under ansible-test the collection is where ANSIBLE_COLLECTIONS_PATH points;
# run by hand from a checkout, it is four levels up.
SOURCE="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/xenfleet/network"
if [[ -z ${ANSIBLE_COLLECTIONS_PATH:-} || ! -f $SOURCE/galaxy.yml ]]; then
    SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)"
fi
SCRATCH="$(mktemp -d -t xenfleet-installed.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT
INSTALLED="$SCRATCH/collections"
COLLECTION="$INSTALLED/ansible_collections/xenfleet/network"

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- build

echo "== build from a copy of $SOURCE with test leftovers planted in it"
rsync -a --exclude=/.git --exclude=/.venv --exclude=/tests/output "$SOURCE/" "$SCRATCH/src/"
# What a developer's checkout holds after a test run (.gitignore keeps it from git, not from the build).
LEFTOVERS=(.hypothesis/examples/x .pytest_cache/v/x tests/unit/.pytest_cache/x tests/unit/.hypothesis/x
    tests/output/junit/x.xml .venv/bin/x plugins/__pycache__/x.cpython-311.pyc plugins/module_utils/x.pyc
    .ci/run bench/results.json build/x .ansible/x xenfleet-network-0.0.1.tar.gz)
for leftover in "${LEFTOVERS[@]}"; do
    mkdir -p "$SCRATCH/src/$(dirname "$leftover")"
    echo leftover >"$SCRATCH/src/$leftover"
done
(cd "$SCRATCH/src" && ansible-galaxy collection build --output-path "$SCRATCH/dist")
TARBALL="$(ls "$SCRATCH"/dist/xenfleet-network-*.tar.gz)"
tar -tzf "$TARBALL" | sed 's#^\./##' | sort >"$SCRATCH/contents"
echo "$TARBALL: $(wc -l <"$SCRATCH/contents") entries, $(du -k "$TARBALL" | cut -f1) KiB"

packed=()
for leftover in "${LEFTOVERS[@]}"; do
    if grep -qxF "$leftover" "$SCRATCH/contents"; then
        packed+=("$leftover")
    fi
done
# and whatever else a cache leaves, wherever it sits
mapfile -t -O "${#packed[@]}" packed < <(grep -E \
    '(^|/)(__pycache__|\.pytest_cache|\.hypothesis|\.venv|\.ansible)(/|$)|\.py[co]$|^tests/output(/|$)' "$SCRATCH/contents")
((${#packed[@]} == 0)) || fail "the tarball carries test leftovers: ${packed[*]}"
for wanted in MANIFEST.json FILES.json meta/runtime.yml playbooks/site.yml plugins/modules/xen_vif.py \
    plugins/module_utils/xl/config.py plugins/filter/vif.py README.md LICENSE; do
    grep -qxF "$wanted" "$SCRATCH/contents" || fail "the tarball lacks $wanted"
done
echo "ok: none of the ${#LEFTOVERS[@]} planted leftovers is packed; the collection's files are"

# ---------------------------------------------------------------- install

echo "== install into $INSTALLED"
# Only the installed artifact may answer: no checkout, no venv collection, no collection beside the playbooks.
cd "$SCRATCH"
export ANSIBLE_COLLECTIONS_PATH="$INSTALLED" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
ansible-galaxy collection install --offline -p "$INSTALLED" "$TARBALL"
[[ -f $COLLECTION/MANIFEST.json ]] || fail "ansible-galaxy installed nothing at $COLLECTION"
# The playbooks' host group, so a host pattern that matches nothing (an error under ansible-test) does not hide the result.
printf '[xen_dom0]\ndom0 ansible_connection=local\n' >"$SCRATCH/inventory"

# resolves PLAYBOOK: ansible-playbook --syntax-check prints the file it read.
resolves() {
    local playbook="$1" expected="$2" output
    output="$(ansible-playbook -i "$SCRATCH/inventory" "$playbook" --syntax-check 2>&1)" ||
        fail "ansible-playbook $playbook --syntax-check: $output"
    grep -qxF "playbook: $expected" <<<"$output" ||
        fail "ansible-playbook $playbook read something else than $expected: $output"
    echo "ok: $playbook -> $expected"
}

resolves xenfleet.network.site "$COLLECTION/playbooks/site.yml"
if [[ -f $SOURCE/playbooks/adopt.yml ]]; then
    resolves xenfleet.network.adopt "$COLLECTION/playbooks/adopt.yml"
fi
# A playbook the collection does not have must fail, or the checks above prove nothing.
if ansible-playbook -i "$SCRATCH/inventory" xenfleet.network.no_such_playbook --syntax-check >/dev/null 2>&1; then
    fail "xenfleet.network.no_such_playbook resolved"
fi

# ---------------------------------------------------------------- ansible-doc

count=0
for file in "$COLLECTION"/plugins/modules/*.py; do
    name="$(basename "$file" .py)"
    output="$(ansible-doc -t module "xenfleet.network.$name" 2>&1)" || fail "ansible-doc xenfleet.network.$name: $output"
    grep -qF "($file)" <<<"$output" || fail "ansible-doc xenfleet.network.$name did not read $file: $(head -3 <<<"$output")"
    grep -q 'OPTIONS' <<<"$output" || fail "ansible-doc xenfleet.network.$name shows no options"
    count=$((count + 1))
done
for file in "$COLLECTION"/plugins/filter/*.yml; do
    name="$(basename "$file" .yml)"
    output="$(ansible-doc -t filter "xenfleet.network.$name" 2>&1)" || fail "ansible-doc -t filter xenfleet.network.$name: $output"
    count=$((count + 1))
done
((count > 5)) || fail "only $count plugins documented"
echo "ok: ansible-doc renders all $count modules and filters from the installed artifact"

# ---------------------------------------------------------------- checkout

# The checkout's root site.yml imports playbooks/site.yml by relative path; its modules come from the
# installed collection here.
resolves "$SOURCE/site.yml" "$SOURCE/site.yml"
echo "ok: the installed collection and the checkout both reach site.yml"
