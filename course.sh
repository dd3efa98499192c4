#!/usr/bin/env bash
# The course's one entry point.  Each command creates or refreshes its own virtual environment
# (.venv next to this file), so it is also the only command a returning user needs.
#
#   ./course.sh lab      set everything up and open the course in JupyterLab
#   ./course.sh test     set everything up and run the whole test suite
#   ./course.sh bench    run the speed benchmarks (installs PyTorch CPU for the comparison)
#   ./course.sh shell    a shell with the course environment activated
set -euo pipefail
cd "$(dirname "$0")"
VENV="${DLCOURSE_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

die() { echo "course.sh: $*" >&2; exit 1; }

setup() {  # $1 = pip extras, e.g. "course" or "course,test"
  command -v "$PYTHON" >/dev/null || die "no $PYTHON found: install Python 3.10 or newer"
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "Python >= 3.10 is needed, $PYTHON is $("$PYTHON" -V 2>&1)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtual environment $VENV ..."
    "$PYTHON" -m venv "$VENV" \
      || die "could not create a virtual environment; on Debian/Ubuntu: sudo apt-get install python3-venv"
  fi
  # Reinstall only when the dependency list or the requested extras changed.
  local stamp="$VENV/.dlcourse-$1-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "installing dlcourse[$1] into $VENV (first run takes a few minutes) ..."
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$1]"
    rm -f "$VENV"/.dlcourse-"$1"-*
    touch "$stamp"
  fi
  export PATH="$PWD/$VENV/bin:$PATH"  # nbgrader shells out to alembic and jupyter
}

case "${1:-}" in
  lab)
    setup course
    shift
    exec jupyter lab notebooks/ "$@"
    ;;
  test)
    setup course,test
    shift
    # two test workers on two cores: one BLAS thread each, or they fight over the cores
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
    exec python -m pytest -n 2 --dist loadgroup "$@"
    ;;
  bench)
    setup course,test
    python -c 'import torch' 2>/dev/null || python -m pip install --quiet "torch==2.13.0" \
      || echo "PyTorch not installed: benchmarks report dlcourse timings only"
    shift
    exec python benchmarks/run_all.py "$@"
    ;;
  shell)
    setup course,test
    exec "${SHELL:-bash}"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
