"""Only the optional C accelerator of the json-file log converter; the project's metadata
is in pyproject.toml.  ``optional=True``: where no C compiler is found the install goes on
and cove uses the pure-Python converter (the reference; see docs/logging.md)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "cove.logdriver._jsonlog",
            ["src/cove/logdriver/_jsonlog.c"],
            optional=True,
        )
    ]
)
