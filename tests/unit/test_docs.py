"""The hand-written parts of the documentation that restate code: they must name what the code declares."""

import re

from airflow_kaniko import config
from tests.conftest import ROOT


def test_the_configuration_table_names_every_option_of_the_section_and_no_other():
    page = (ROOT / "docs" / "configuration.md").read_text()
    table = re.findall(r"^\| `(\w+)` \| (.+?) \|", page, flags=re.M)
    assert [option for option, _ in table] == list(config.SECTION[config.NAME]["options"])
    defaults = {option: default for option, default in table}
    for option, spec in config.SECTION[config.NAME]["options"].items():
        assert defaults[option] == (f"`{spec['default']}`" if spec["default"] else "empty"), option
