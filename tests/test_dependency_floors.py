"""Dependency floors stay at or above the releases that fixed known advisories.

An advisory database cannot be reached offline (and ``pip-audit`` then reports "no known
vulnerabilities" without having looked), so the fixed versions are written down here, with
what each fixed, and checked against ``pyproject.toml`` and against what is installed.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# package: the first release that carries the fixes for the published advisories known
# when the floor was set (docs/SECURITY.md says the same in prose).
FIXED = {
    "flask": "3.1.3",
    "python-engineio": "4.13.2",
    "python-socketio": "5.16.2",  # since 5.14.0 it no longer pickles Redis queue messages
    "eventlet": "0.40.3",
    "gevent": "23.9.0",  # CVE-2023-41419: pywsgi (python -m forum's server under gevent)
    "markdown-it-py": "2.2.0",
}


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    found = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        found[requirement.name.lower()] = requirement
    return found


@pytest.mark.parametrize("package", sorted(FIXED))
def test_pyproject_admits_no_version_before_the_fix(package: str) -> None:
    requirement = _requirements().get(package)
    assert requirement is not None, f"{package} is not a declared dependency"
    fixed = Version(FIXED[package])
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    assert floors and max(floors) >= fixed, f"{requirement}: the floor must be at least {fixed}"
    # The last release before the fix, and an old one, must both be refused.
    before = Version("0.1")
    if fixed.micro:
        before = Version(f"{fixed.major}.{fixed.minor}.{fixed.micro - 1}")
    assert not requirement.specifier.contains(before, prereleases=True), requirement
    assert not requirement.specifier.contains("0.1", prereleases=True), requirement


@pytest.mark.parametrize("package", sorted(FIXED))
def test_installed_version_is_fixed(package: str) -> None:
    installed = Version(metadata.version(package))
    assert installed >= Version(FIXED[package]), f"{package} {installed} is older than the fix"


def test_every_fixed_package_is_named_in_the_docs() -> None:
    security = (PYPROJECT.parent / "docs" / "SECURITY.md").read_text()
    for package, version in FIXED.items():
        assert f"{package} >= {version}" in security
