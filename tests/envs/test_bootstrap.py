from __future__ import annotations

from pathlib import Path

import pytest

from patchjury.envs.bootstrap import base_tag, debian_mirror
from patchjury.envs.errors import ImageBuildError


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (d / "other.sources").write_text("Types: deb\nURIs: http://example.invalid/node_20.x\n")
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example.invalid/debian\nSuites: bookworm\n"
    )
    assert debian_mirror((str(tmp_path / "missing.list"), str(d))) == "http://mirror.example.invalid/debian"


def test_mirror_from_one_line_sources(tmp_path: Path) -> None:
    f = tmp_path / "sources.list"
    f.write_text("# comment\ndeb [arch=amd64] http://m.example.invalid/debian bullseye main\n")
    assert debian_mirror((str(f),)) == "http://m.example.invalid/debian"


def test_no_mirror_is_a_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "sources.list"
    f.write_text("deb http://m.example.invalid/ubuntu jammy main\n")
    with pytest.raises(ImageBuildError, match="no Debian mirror"):
        debian_mirror((str(f),))


def test_base_tag_depends_on_suite() -> None:
    assert base_tag("bookworm") != base_tag("bullseye")
    assert base_tag("bookworm") == base_tag("bookworm")
