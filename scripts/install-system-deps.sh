#!/usr/bin/env bash
# Installs the system programs the test suite uses, only when they are missing (idempotent):
#   chromium  - the browser tests (`pytest -m browser`) open the HTML report in headless Chromium;
#   graphviz  - the `dot` binary, which renders computation graphs to SVG (without it wordgrad
#               draws them with its own simple layout, and the tests of that path still run);
#   bubblewrap - `bwrap`, the namespaces of the sandbox that runs model-written code (without it
#               the sandbox falls back to resource limits only, and says so).
# Needs root (or sudo) and Debian's package registry; does nothing when all are present.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || [[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-system-deps: need root to install ${missing[*]}; run: apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

echo "install-system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
