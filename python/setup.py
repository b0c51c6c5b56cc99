"""Build step of the cloudmask package: copies the native library and its ctypes binding in.

The package is pure Python over the C API, so nothing is compiled here: cargo builds
libcloudmask.so (`cargo build --release`, `make build`), and this copies it, with the binding
qgis-plugin/cloudmask_qgis/native.py (one binding for the QGIS plugin and this package, checked
against include/cloudmask.h by tests/bindings.rs), into the built package. The wheel is tagged
for this platform (it carries a Linux x86-64 library) but any Python 3: the package has no
extension module.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBRARY = os.environ.get("CLOUDMASK_BUILD_LIBRARY",
                         os.path.join(ROOT, "target", "release", "libcloudmask.so"))
BINDING = os.path.join(ROOT, "qgis-plugin", "cloudmask_qgis", "native.py")


class BuildPy(build_py):
    def run(self):
        super().run()
        for path, what in ((LIBRARY, "cargo build --release (or make build)"),
                           (BINDING, "a checkout of the whole repository")):
            if not os.path.isfile(path):
                raise SystemExit(f"{path} is missing: the cloudmask package is built from "
                                 f"the repository, after {what}")
        target = os.path.join(self.build_lib, "cloudmask")
        os.makedirs(os.path.join(target, "lib"), exist_ok=True)
        shutil.copyfile(BINDING, os.path.join(target, "_native.py"))
        shutil.copy2(LIBRARY, os.path.join(target, "lib", "libcloudmask.so"))


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True  # a platform wheel: it carries libcloudmask.so


try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel


class Wheel(bdist_wheel):
    def get_tag(self):
        return ("py3", "none", super().get_tag()[2])


setup(cmdclass={"build_py": BuildPy, "bdist_wheel": Wheel}, distclass=BinaryDistribution)
