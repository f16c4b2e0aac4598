"""The examples in the pure modules' docstrings are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["mega.domain.address", "mega.domain.gtid", "mega.domain.candidates", "mega.ha.rejoin",
           "mega.mysql.dialect"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
