import pytest

from sim2real_bringup.substitution import FindShare, Template, Text, Var


def test_parse_splits_text_and_substitutions():
    template = Template.parse("$(find so101)/config/$(var name).yaml")
    assert template.parts == (FindShare("so101"), Text("/config/"), Var("name"), Text(".yaml"))
    assert template.variables == ["name"]
    assert not template.is_literal and template.single_variable is None


def test_find_pkg_share_is_find():
    assert Template.parse("$(find-pkg-share sim2real_sim)").parts == (FindShare("sim2real_sim"),)


def test_single_variable_and_literals():
    assert Template.parse("$(var seed)").single_variable == "seed"
    assert Template.parse("plain").is_literal
    assert Template.parse("").parts == ()


def test_render():
    template = Template.parse("$(find so101)/x/$(var a)-$(var a)")
    assert template.render({"a": "1"}, lambda package: f"/share/{package}") == "/share/so101/x/1-1"


@pytest.mark.parametrize("text, message", [
    ("$(env HOME)", r"unknown substitution \$\(env"),
    ("$(var a", "malformed substitution"),
    ("x $(var) y", "malformed substitution"),
])
def test_parse_errors(text, message):
    with pytest.raises(ValueError, match=message):
        Template.parse(text)
