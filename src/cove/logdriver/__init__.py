"""Container logs: the drivers' options, the keeper (rotations of conmon's k8s-file, and
the json-file writer), the readers behind ``logs`` and the syslog forwarder.

conmon reads every container's output into CRI records; for ``json-file`` the keeper turns
them into Docker's ``<id>-json.log`` (``jsonlog``, ``pump``), for the other drivers conmon
writes its k8s-file itself (capped with ``--log-size-max``) and the keeper keeps the rotated
files.  This package decides the caps from a container's ``LogConfig`` and reads every
format back in bounded memory.  See docs/logging.md.
"""
