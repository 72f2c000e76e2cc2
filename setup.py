"""Builds the extension sessrec._core through CMake.

The CMake build directory is kept (build/cmake by default, SESSREC_BUILD_DIR to change it) so
that rebuilding after an edit is incremental and the GoogleTest binary lives beside the module.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = Path(os.environ.get("SESSREC_BUILD_DIR", ROOT / "build" / "cmake")).resolve()
        build_dir.mkdir(parents=True, exist_ok=True)
        out_dir = build_dir / "python"
        build_type = os.environ.get("SESSREC_BUILD_TYPE", "Release")
        configure = [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(build_dir),
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DPython3_EXECUTABLE={sys.executable}",
            f"-DSESSREC_EXTENSION_DIR={out_dir}",
            f"-DSESSREC_PORTABLE={'ON' if os.environ.get('SESSREC_PORTABLE') else 'OFF'}",
            f"-DSESSREC_BUILD_TESTS={'ON' if os.environ.get('SESSREC_BUILD_TESTS', '1') == '1' else 'OFF'}",
        ]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("SESSREC_BUILD_JOBS", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_core", "-j", jobs], check=True)
        built = next(out_dir.glob("_core*.so"))
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        # Copy then rename: a process that has the old module mapped keeps a consistent file.
        partial = target.with_name(target.name + ".partial")
        shutil.copy2(built, partial)
        os.replace(partial, target)


setup(ext_modules=[CMakeExtension("sessrec._core")], cmdclass={"build_ext": CMakeBuild})
