"""Build hooks: a wheel carries the pages, bundled with their npm packages, and the shipped assets.

Everything else about the package is in pyproject.toml. Building a wheel from a checkout runs
web_client/build.mjs (esbuild; ``npm ci`` first when web_client/node_modules lacks it) into
avatar_care/web/, then copies that bundle and assets/ into the wheel's avatar_care/, where the
installed server finds them (avatar_care/core/paths.py). Node is needed to build, never to run.
An sdist carries the bundle already built, so a wheel built from it needs no Node either.
Editable installs (scripts/setup.sh) skip all this: a checkout serves its own sources and assets.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
WEB_CLIENT = ROOT / "web_client"
BUNDLE = ROOT / "avatar_care" / "web"
#: the assets the server uses at run time: avatars, the MediaPipe model, the demo's recording
SHIPPED_ASSETS = ("avatars", "demo", "models")


def build_pages() -> None:
    """Bundles the pages from web_client/ into avatar_care/web/ (an unpacked sdist has them built)."""
    if (ROOT / "PKG-INFO").is_file() and BUNDLE.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("building avatar-care's pages needs Node.js and npm (apt-get install nodejs npm)")
    if not (WEB_CLIENT / "node_modules" / "esbuild" / "package.json").is_file():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WEB_CLIENT, check=True)
    subprocess.run([npm, "run", "--silent", "build"], cwd=WEB_CLIENT, check=True)


class BuildPyWithPages(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        build_pages()
        package = Path(self.build_lib) / "avatar_care"
        copies = [(BUNDLE, package / "web")]
        copies += [(ROOT / "assets" / name, package / "assets" / name) for name in SHIPPED_ASSETS]
        for source, target in copies:
            shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build
            shutil.copytree(source, target)


class SdistWithPages(sdist):
    def run(self) -> None:
        build_pages()
        super().run()


setup(cmdclass={"build_py": BuildPyWithPages, "sdist": SdistWithPages})
