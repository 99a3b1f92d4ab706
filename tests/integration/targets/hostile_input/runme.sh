#!/usr/bin/env bash
# Every name-, path- and value-taking option of every module fed hostile
# values (shell and nft metacharacters, quotes, control characters, 16+ bytes,
# non-ASCII, unsafe dnsmasq options): each task fails naming the option and
# the value, and the lab dom0 stays byte for byte as it was (links, addresses,
# routes, nft ruleset, every file under the directories the modules write).
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh

lab_up lab.json
lab_playbook "$LAB_DIR" hostile.yml "$@"
