"""Test doubles shipped with cove: the engine's lifecycle rules run without root with these.

- ``FakeRuntime`` implements the Runtime Protocol: containers are records in memory, each
  watched by a real but idle monitor process (so the engine's pid/start-time checks see a
  live monitor exactly as with conmon), and a test decides when and how they exit.
- ``MemorySnapshotter`` implements the Snapshotter Protocol with no mounts (layers are
  names and sizes; each container gets plain directories).
- ``FakeNetworking`` implements ``ContainerNetworking``: it records what the engine asked
  for, can be told to fail a step, and touches no host interface.
"""
