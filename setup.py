"""
Build hooks that setup.cfg cannot express.

1. Install ``pyNN_surrogate.pth`` at the top of site-packages, so that ``import pyNN.surrogate``
   resolves to ``pyNN_surrogate`` (see ``pyNN_surrogate_alias.py``). This holds for editable
   installs (``pip install -e .``) too: there the file goes straight into the wheel being built.
2. Ship the trained cell types of ``celltypes/`` inside the package, as
   ``pyNN_surrogate/celltypes/``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
CELLTYPE_FILES = ("card.json", "weights.pt")


class BuildWithAliasAndCellTypes(build_py):
    def run(self):
        super().run()
        build_lib = Path(self.build_lib)
        shutil.copy(HERE / "pyNN_surrogate.pth", build_lib / "pyNN_surrogate.pth")
        if getattr(self, "editable_mode", False):
            # an editable wheel is made from install_lib, not build_lib (setuptools >= 64)
            wheel_root = Path(self.get_finalized_command("install").install_lib)
            shutil.copy(HERE / "pyNN_surrogate.pth", wheel_root / "pyNN_surrogate.pth")
        for card in sorted((HERE / "celltypes").glob("*/card.json")):
            destination = build_lib / "pyNN_surrogate" / "celltypes" / card.parent.name
            destination.mkdir(parents=True, exist_ok=True)
            for name in CELLTYPE_FILES:
                if (card.parent / name).exists():
                    shutil.copy(card.parent / name, destination / name)


setup(cmdclass={"build_py": BuildWithAliasAndCellTypes})
