"""Global nbgrader configuration for a hub that runs the dlcourse course.

Install it where every single-user server and the formgrader read it: the Docker images copy it to
``/etc/jupyter/nbgrader_config.py``; the single-server hub (``jupyterhub_config.py``) puts this
folder on ``JUPYTER_CONFIG_PATH`` instead, so nothing has to be copied.

The course's own ``assignments/nbgrader_config.py`` (in the grader's course directory) adds the
grading settings; this file only says where the exchange is and who belongs to the course.
"""
import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 (provided by the config loader)

# One course per hub group pair: ``nbgrader-<course>`` (students), ``formgrade-<course>`` (graders).
c.CourseDirectory.course_id = os.environ.get("DLCOURSE_COURSE_ID", "dlcourse")

# The exchange is a directory every server can reach (a host directory, or a ReadWriteMany volume on
# Kubernetes) with mode 1777: anyone may create, nobody may delete another user's files.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
# <root>/<course>/{outbound,inbound,feedback}, and a student's fetched copy in
# ~/<course>/<assignment>: several courses can share one exchange and one home directory.
c.Exchange.path_includes_course = True

# Course membership comes from the hub groups, so a student sees only the courses they are in.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
