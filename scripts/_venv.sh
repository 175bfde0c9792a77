# Sourced by the scripts: a virtual environment in .venv with liaison installed (editable).
# Re-installs only when setup.cfg changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
extras="${1:-}"
stamp=".venv/.installed${extras:+-$extras}"
spec=".${extras:+[$extras]}"
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
