# Sourced by the scripts, then called with the extras they need, never with the caller's arguments:
#   source "$(dirname "$0")/_venv.sh"
#   venv_install          # liaison alone (./scripts/demo)
#   venv_install test     # with the test extras (./scripts/test, ./scripts/bench*)
# A bare `source` hands a script's own arguments to the sourced file as $1…, so nothing here reads
# them: they stay for the command the script runs.
# venv_install makes a virtual environment in .venv with liaison installed (editable), and
# re-installs only when setup.cfg or pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"

venv_install() {
    if [ "$#" -gt 1 ]; then
        echo "venv_install: one argument at most (the extras, e.g. test), got: $*" >&2
        return 2
    fi
    local extras="${1:-}"
    local stamp=".venv/.installed${extras:+-$extras}"
    local spec=".${extras:+[$extras]}"
    if [ ! -x .venv/bin/python ]; then
        echo "Création de l'environnement Python (.venv)…" >&2
        "$PYTHON" -m venv .venv
    fi
    if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "Installation de liaison et de ses dépendances ($spec)…" >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet --editable "$spec"
        touch "$stamp"
    fi
}
