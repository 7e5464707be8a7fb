"""Containers: records made and run (create, start/stop/kill/rm, attach, exec, restart, health,
pause, top, update, prune) and the OCI spec built for them."""
