"""``python -m dlcourse <command>``: the instructor command line (same as ``python -m dlcourse.course``)."""
import sys

from dlcourse.course import main

sys.exit(main())
