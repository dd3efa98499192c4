#!/bin/bash
# docker-stacks start hook (sourced by start.sh before the server starts, as the notebook user):
# copy the course notebooks into ~/<course>/notebooks.  Files the user already has are kept, so
# edits survive and notebooks added to a newer image appear on the next start.
dlcourse_src="${DLCOURSE_NOTEBOOKS:-/opt/dlcourse/notebooks}"
dlcourse_dest="${HOME}/${DLCOURSE_COURSE_ID:-dlcourse}/notebooks"
if [ -d "${dlcourse_src}" ]; then
    python3 - "${dlcourse_src}" "${dlcourse_dest}" <<'PY' || echo "dlcourse: could not copy the notebooks into ${dlcourse_dest}" >&2
import os, shutil, sys
def copy_if_missing(src, dst):
    if not os.path.lexists(dst):
        shutil.copy2(src, dst)
shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True, copy_function=copy_if_missing)
PY
fi
unset dlcourse_src dlcourse_dest
