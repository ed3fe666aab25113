"""Build hook for appwarden's optional C accelerator (everything else is in pyproject.toml).

The extension is optional: if no C compiler is available the build continues and
appwarden.apk.dex falls back to its pure-Python scanner, which gives identical results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "appwarden.apk._dexscan",
            sources=["src/appwarden/apk/_dexscan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
