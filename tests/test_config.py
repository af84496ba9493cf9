import json
from pathlib import Path

import pytest

from albert_edge.config import AlbertConfig, ConfigError, PRESETS

CONFIGS = Path(__file__).parents[1] / "albert_edge" / "resources" / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.json")), ids=lambda p: p.name)
def test_reads_every_albert_zh_config(path):
    config = AlbertConfig.from_json_file(path)
    raw = json.loads(path.read_text())
    assert config.hidden_size == raw["hidden_size"]
    assert config.num_hidden_layers == raw["num_hidden_layers"]
    assert config.layout == ("google" if "num_hidden_groups" in raw else "brightmart")
    assert config.ln_type == raw.get("ln_type", "postln")


def test_tiny_config_matches_tiny_preset_and_reference_parameter_count():
    tiny = AlbertConfig.from_json_file(CONFIGS / "albert_config_tiny.json")
    assert tiny == AlbertConfig.preset("tiny")
    assert tiny.num_parameters == 4_295_186     # variables.tsv of the real albert_tiny_zh


def test_presets_cover_the_family():
    assert list(PRESETS) == ["tiny", "small", "base", "large", "xlarge", "xxlarge"]
    assert AlbertConfig.preset("xxlarge").ln_type == "preln"
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        AlbertConfig.preset("huge")


@pytest.mark.parametrize("change, field", [
    ({"hidden_size": 310}, "hidden_size"),
    ({"num_attention_heads": 0}, "num_attention_heads"),
    ({"hidden_act": "mish"}, "hidden_act"),
    ({"ln_type": "sandwich"}, "ln_type"),
    ({"hidden_dropout_prob": 1.5}, "hidden_dropout_prob"),
    ({"num_hidden_groups": 3, "layout": "brightmart"}, "num_hidden_groups"),  # one shared layer
])
def test_rejects_inconsistent_values_naming_the_field(tmp_path, change, field):
    data = json.loads((CONFIGS / "albert_config_tiny.json").read_text())
    data.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=field) as err:
        AlbertConfig.from_json_file(path)
    assert str(path) in str(err.value)


def test_rejects_unknown_fields_and_non_json(tmp_path):
    (tmp_path / "a.json").write_text('{"hidden_size": 312, "hiden_layers": 4}')
    with pytest.raises(ConfigError, match="unknown config field.*hiden_layers"):
        AlbertConfig.from_json_file(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        AlbertConfig.from_json_file(tmp_path / "b.json")
    with pytest.raises(ConfigError, match="not found"):
        AlbertConfig.from_json_file(tmp_path / "missing.json")
