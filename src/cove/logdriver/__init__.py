"""Container logs: the drivers' options, the rotation keeper, the readers behind ``logs``
and the syslog forwarder.

conmon writes every container's log (a CRI "k8s-file", capped with ``--log-size-max``);
this package decides the caps from a container's ``LogConfig``, keeps rotated generations
of the file, and reads them back in bounded memory.  See docs/logging.md.
"""
