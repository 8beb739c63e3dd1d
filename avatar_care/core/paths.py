"""Where the server finds its pages and shipped assets: in a source checkout, or in the installed package.

A source checkout serves the pages' sources with their npm packages (edit a page, reload it); an
installed package serves the bundle built into it (``web/``, by web_client/build.mjs) and the assets
copied into it (``assets/``), both put there when the wheel is built (setup.py), so an installed
server needs neither Node nor the checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Final

PACKAGE_DIR: Final = Path(__file__).resolve().parents[1]
#: The folder above the package: a source checkout's root, or site-packages when installed.
CHECKOUT_DIR: Final = PACKAGE_DIR.parent
#: The pages built for the package (web_client/build.mjs): every npm package bundled in.
PAGES_BUNDLE: Final = PACKAGE_DIR / "web"


def in_checkout() -> bool:
    """Running from a source checkout (the pages' sources next to the package), not an installed wheel."""
    return (CHECKOUT_DIR / "web_client" / "package.json").is_file()


def default_web_client_dir() -> Path:
    return CHECKOUT_DIR / "web_client" if in_checkout() else PAGES_BUNDLE


def default_assets_dir() -> Path:
    return CHECKOUT_DIR / "assets" if in_checkout() else PACKAGE_DIR / "assets"


def default_data_dir() -> Path:
    """A checkout keeps its data in its own ``data/``; an installed server in ``data/`` where it runs."""
    return CHECKOUT_DIR / "data" if in_checkout() else Path.cwd() / "data"


def vendor_dir(web_client_dir: Path) -> Path:
    """The npm files the pages fetch by URL (MediaPipe's wasm): a bundle's ``vendor/``, else the
    sources' ``node_modules/``."""
    bundled = web_client_dir / "vendor"
    return bundled if bundled.is_dir() else web_client_dir / "node_modules"
