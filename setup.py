"""Packages for setuptools; everything else is in pyproject.toml.

The specs stay where their authors edit them, in ``openapi/`` at the repository root, and
ship inside the package as ``sandbox.openapi`` (pyproject's ``packages.find`` cannot add a
package mapped onto another folder, hence this file).
"""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["sandbox", "sandbox.*", "fixtures", "fixtures.*", "contract_tests", "contract_tests.*"]), "sandbox.openapi"],
    package_dir={"sandbox.openapi": "openapi"},
)
