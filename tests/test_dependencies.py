"""The dependency split and the hash-pinned lock files (requirements/*.txt, `make lock`)."""
import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[1]
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg")
DEVICE_ONLY = {"kivy", "nfcpy", "evdev", "ndeflib", "pyserial"}
HQ_ONLY = {"psycopg", "psycopg-binary"}


def _requirements(text: str) -> list[Requirement]:
    return [Requirement(line) for line in text.strip().splitlines() if not line.startswith("store-kiosk")]


def _locked(name: str) -> dict[str, tuple[str, list[str]]]:
    """{package: (version, [hashes])} from a pip-compile --generate-hashes file."""
    text = re.sub(r"#.*", "", (ROOT / "requirements" / f"{name}.txt").read_text()).replace("\\\n", " ")
    pins = {}
    for line in filter(str.strip, text.splitlines()):
        spec, *hashes = line.split("--hash=")
        req = Requirement(spec.strip())
        pins[req.name.lower()] = (str(req.specifier).removeprefix("=="), [h.strip() for h in hashes])
    return pins


@pytest.mark.parametrize("flavour, forbidden", [("kiosk", HQ_ONLY), ("hq", DEVICE_ONLY)])
def test_each_end_installs_only_its_own_dependencies_all_pinned_with_hashes(flavour, forbidden):
    pins = _locked(flavour)
    assert not forbidden & set(pins), f"{flavour} would install {forbidden & set(pins)}"
    wanted = _requirements(SETUP["options"]["install_requires"]) + _requirements(SETUP["options.extras_require"][flavour])
    for req in wanted:
        version, hashes = pins[req.name.lower()]
        assert req.specifier.contains(version, prereleases=True), f"{req.name} {version} outside {req.specifier}: make lock"
    assert all(hashes and all(h.startswith("sha256:") for h in hashes) for _, hashes in pins.values())


def test_majors_that_would_break_are_bounded():
    every = _requirements(SETUP["options"]["install_requires"]) + [
        r for extra in ("kiosk", "hq") for r in _requirements(SETUP["options.extras_require"][extra])]
    unbounded = [r.name for r in every if r.name not in ("cryptography", "tzdata")
                 and not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert not unbounded, unbounded
