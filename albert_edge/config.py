"""AlbertConfig: one object that drives the tokenizer-independent model.

albert_zh ships configs in two styles:

* **brightmart** (`albert_config_tiny.json` …): has `ln_type`, no groups. The embedding is
  factorized *after* the lookup — `word_embeddings` [V, E] then `word_embeddings_2` [E, H] — and the
  position / token-type tables live in the hidden size H; one transformer layer (`layer_shared`) is
  reused `num_hidden_layers` times.
* **google** (`albert_config_tiny_google.json` …): has `num_hidden_groups`, `inner_group_num`,
  `down_scale_factor`. Position / token-type tables live in E, LayerNorm is applied in E, and
  `embedding_hidden_mapping_in` [E, H] projects into the encoder, which has `num_hidden_groups`
  groups of `inner_group_num` layers.

`layout` records which of the two structures a config describes; the model builds one or the other
and `albert_edge.checkpoint` maps its variables onto the matching checkpoint names.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping

LAYOUTS = ("brightmart", "google")
ACTIVATIONS = ("gelu", "gelu_new", "gelu_exact", "relu", "tanh", "swish", "linear")
LN_TYPES = ("postln", "preln")

# Upper bounds of a config's sizes: far above any released ALBERT (xxlarge: hidden 4096, intermediate
# 16384, 12 layers, vocab 30000), far below what would try to allocate the machine (a typo such as
# hidden_size 1200000000 or vocab_size 100000000000 is refused before any weight is built).
LIMITS = {"vocab_size": 1_000_000, "embedding_size": 16_384, "hidden_size": 16_384, "num_hidden_layers": 256,
          "num_attention_heads": 1_024, "intermediate_size": 65_536, "max_position_embeddings": 8_192,
          "type_vocab_size": 1_024, "num_hidden_groups": 256, "inner_group_num": 256, "down_scale_factor": 1}
MAX_PARAMETERS = 4_000_000_000   # 16 GB of float32 weights

# Keys present in albert_zh / BERT json files that describe nothing our model uses (the BERT pooler
# variants were never implemented upstream either). Accepted and ignored, never an error.
_IGNORED_KEYS = frozenset({
    "directionality", "pooler_fc_size", "pooler_num_attention_heads", "pooler_num_fc_layers",
    "pooler_size_per_head", "pooler_type", "net_structure_type", "gap_size", "num_memory_blocks",
    "model_type", "architectures", "layer_norm_eps", "classifier_dropout_prob", "pad_token_id",
    "bos_token_id", "eos_token_id", "position_embedding_type", "transformers_version",
    "torch_dtype", "tokenizer_class", "id2label", "label2id", "output_past",
})


class ConfigError(ValueError):
    """A config file or value is unusable; the message names the field and how to fix it."""


@dataclasses.dataclass(frozen=True)
class AlbertConfig:
    vocab_size: int = 21128
    embedding_size: int = 128
    hidden_size: int = 312
    num_hidden_layers: int = 4
    num_attention_heads: int = 12
    intermediate_size: int = 1248
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    layout: str = "brightmart"
    ln_type: str = "postln"
    num_hidden_groups: int = 1
    inner_group_num: int = 1
    down_scale_factor: int = 1

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        positive = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
                    "num_attention_heads", "intermediate_size", "max_position_embeddings",
                    "type_vocab_size", "num_hidden_groups", "inner_group_num", "down_scale_factor")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"config field '{name}' must be a positive integer, got {value!r}")
            if value > LIMITS[name] and name != "down_scale_factor":
                raise ConfigError(f"config field '{name}' is {value}, above the limit of {LIMITS[name]:,}: "
                                  f"a typo? (the largest released ALBERT is far below it)")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ConfigError(f"config field '{name}' must be in [0, 1), got {value!r}")
        if not isinstance(self.initializer_range, (int, float)) or self.initializer_range <= 0:
            raise ConfigError(f"config field 'initializer_range' must be > 0, got {self.initializer_range!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ConfigError(
                f"config field 'hidden_size' ({self.hidden_size}) must be divisible by "
                f"'num_attention_heads' ({self.num_attention_heads}); e.g. 312 = 12 x 26")
        if self.hidden_act not in ACTIVATIONS:
            raise ConfigError(f"config field 'hidden_act' is {self.hidden_act!r}; supported: {', '.join(ACTIVATIONS)}")
        if self.layout not in LAYOUTS:
            raise ConfigError(f"config field 'layout' is {self.layout!r}; supported: {', '.join(LAYOUTS)}")
        if self.ln_type not in LN_TYPES:
            raise ConfigError(f"config field 'ln_type' is {self.ln_type!r}; supported: {', '.join(LN_TYPES)}")
        if self.layout == "brightmart" and (self.num_hidden_groups != 1 or self.inner_group_num != 1):
            raise ConfigError("brightmart-style configs share one layer: 'num_hidden_groups' and "
                              "'inner_group_num' must be 1 (use a google-style config for groups)")
        if self.num_parameters > MAX_PARAMETERS:
            raise ConfigError(f"config describes {self.num_parameters:,} parameters, above the limit of "
                              f"{MAX_PARAMETERS:,} ({MAX_PARAMETERS * 4 // 10**9} GB of float32 weights)")
        if self.down_scale_factor != 1:
            raise ConfigError("config field 'down_scale_factor' must be 1: albert_zh's released models "
                              "never used down-scaling and albert_edge does not implement it")

    # ---------------------------------------------------------------- derived
    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def num_parameters(self) -> int:
        """Parameters of the encoder + pooler + MLM/SOP heads (what albert_zh checkpoints hold)."""
        V, E, H, I, P, T = (self.vocab_size, self.embedding_size, self.hidden_size,
                            self.intermediate_size, self.max_position_embeddings, self.type_vocab_size)
        layer = 4 * (H * H + H) + 2 * H + (H * I + I) + (I * H + H) + 2 * H
        layers = layer * self.num_hidden_groups * self.inner_group_num
        if self.layout == "brightmart":
            emb = V * E + E * H + (P + T) * H + 2 * H
        else:
            emb = V * E + (P + T) * E + 2 * E + E * H + H
        heads = (H * H + H) + (H * H + H + 2 * H) + V + (2 * H + 2)
        if self.layout == "google":
            heads = (H * H + H) + (H * E + E + 2 * E) + V + (2 * H + 2)
        return emb + layers + heads

    # ------------------------------------------------------------------ io
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> "AlbertConfig":
        """Build from an albert_zh (either style), BERT, or our own json dict."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in data if k not in known and k not in _IGNORED_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown config field(s) {unknown}; known fields: {sorted(known)}")
        if "layout" not in data:
            # Google-style files carry the group fields; brightmart files carry ln_type.
            # Hugging Face's AlbertConfig (model_type "albert") is the Google structure too.
            google = data.get("model_type") == "albert" or any(
                k in data for k in ("num_hidden_groups", "inner_group_num", "down_scale_factor"))
            data["layout"] = "google" if google else "brightmart"
        kwargs = {k: v for k, v in data.items() if k in known}
        if "layer_norm_eps" in data:
            kwargs["layer_norm_eps"] = data["layer_norm_eps"]
        if "embedding_size" not in kwargs and "hidden_size" in kwargs:
            kwargs["embedding_size"] = kwargs["hidden_size"]  # plain BERT config: no factorization
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        except TypeError as err:  # wrong value types that slipped past validate()
            raise ConfigError(f"{source}: {err}") from None

    @classmethod
    def from_json_file(cls, path: str | os.PathLike) -> "AlbertConfig":
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a JSON object of config fields")
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json_string(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def replace(self, **changes: Any) -> "AlbertConfig":
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str) -> "AlbertConfig":
        """albert_zh's published sizes: tiny small base large xlarge xxlarge (brightmart style)."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
        return cls(**PRESETS[name])


def _preset(H: int, L: int, heads: int, inter: int, E: int = 128) -> dict[str, Any]:
    return dict(hidden_size=H, num_hidden_layers=L, num_attention_heads=heads,
                intermediate_size=inter, embedding_size=E)


# Sizes from albert_zh's albert_config_*.json (small: albert_small_zh_google's sizes).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": _preset(312, 4, 12, 1248),
    "small": _preset(384, 6, 12, 1536),
    "base": _preset(768, 12, 12, 3072),
    "large": _preset(1024, 24, 16, 4096),
    "xlarge": _preset(2048, 24, 32, 8192),
    "xxlarge": dict(_preset(4096, 12, 64, 16384), ln_type="preln"),
}
