"""The one text rule (pipelines.names): the same limits and characters for the REST
schemas (pydantic) and the plain checks of the tabs, the command line and the records."""

from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError

from pipelines.names import TextError, check_text, has_control, text_field, text_rule


class Body(BaseModel):
    title: str = text_field(10, "one line")
    notes: str = text_field(20, "several lines", multiline=True, default="")
    tags: list[Annotated[str, text_rule(5, strip=True, min_length=1)]] = []


@pytest.mark.parametrize("bad", ["a\x00b", "a\nb", "a\tb", "a\rb", "a\x7fb", "a\x1bb"])
def test_one_line_refuses_every_control_character(bad):
    assert has_control(bad)
    with pytest.raises(ValidationError):
        Body(title=bad)
    with pytest.raises(TextError, match="control character"):
        check_text(bad, "title", 10)


def test_several_lines_allow_tabs_and_line_breaks_only():
    assert Body(title="t", notes="a\tb\r\nc").notes == "a\tb\r\nc"
    assert check_text("a\tb\r\nc", "notes", multiline=True) == "a\tb\r\nc"
    for bad in ("a\x00b", "a\x0bb", "a\x0cb", "a\x7fb"):
        assert has_control(bad, multiline=True)
        with pytest.raises(ValidationError):
            Body(title="t", notes=bad)
        with pytest.raises(TextError):
            check_text(bad, "notes", multiline=True)


def test_lengths_are_kept_and_shown_in_the_schema():
    with pytest.raises(ValidationError):
        Body(title="x" * 11)
    with pytest.raises(TextError, match="11 characters long; the limit is 10"):
        check_text("x" * 11, "title", 10)
    props = Body.model_json_schema()["properties"]
    assert props["title"]["maxLength"] == 10 and props["notes"]["maxLength"] == 20
    assert props["tags"]["items"]["maxLength"] == 5 and "pattern" in props["tags"]["items"]
    assert Body(title="t", tags=[" ab "]).tags == ["ab"]
    with pytest.raises(ValidationError):
        Body(title="t", tags=["  "])
