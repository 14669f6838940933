"""Starts the idc-sim binary for each test and gives the test its endpoints.

The binary is the one `cargo build` made (IDC_SIM_BIN overrides the path). Its first lines on
standard output are the `export NAME=value` lines a person would paste into a shell; they are
parsed here exactly as a shell would see them.
"""

import urllib.request

import pytest

from simulator import NoRedirect, start_sim  # noqa: F401  (a fixture, shared with tests/e2e)

@pytest.fixture
def http_no_redirect():
    return urllib.request.build_opener(NoRedirect)
