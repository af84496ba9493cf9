"""Checkpoint I/O: albert_zh TF1 checkpoints (brightmart + Google layouts) and Hugging Face folders.

The model names its variables canonically (`AlbertEncoder.weight_map()`); this module owns the
only tables that translate those names to each on-disk layout:

* `BRIGHTMART`  — albert_zh `modeling.py` (`bert/encoder/layer_shared/...`), read + write.
* `GOOGLE`      — albert_zh `modeling_google.py` / google-research/albert
                  (`bert/encoder/transformer/group_0/inner_group_0/...`), read + write.
* `HUGGINGFACE` — `transformers` `AlbertModel` state dict in `model.safetensors`, read + write.

A TF1 checkpoint is read with `tf.train.load_checkpoint` (TF 2.21 reads TF 1.15's format) and
written with the `SaveV2` op, so its `.index` lists exactly the layout's names and shapes — what
albert_zh's `tf.train.init_from_checkpoint` expects.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from albert_edge.config import AlbertConfig, PRESETS
from albert_edge.fileio import atomic_dir

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------
# The name-map tables: (canonical regex, layout name template). First match wins.
_L = r"encoder/group_(\d+)/inner_(\d+)/"

# Pooler and heads: albert_zh kept BERT's names for both TF1 layouts, so both tables end with these
# rows (named here once, not sliced out of one table by position).
BERT_HEADS: Sequence[Tuple[str, str]] = (
    (r"pooler/(kernel|bias)$", r"bert/pooler/dense/\1"),
    (r"mlm/transform/LayerNorm/(gamma|beta)$", r"cls/predictions/transform/LayerNorm/\1"),
    (r"mlm/transform/(kernel|bias)$", r"cls/predictions/transform/dense/\1"),
    (r"mlm/output_bias$", r"cls/predictions/output_bias"),
    (r"sop/(output_weights|output_bias)$", r"cls/seq_relationship/\1"),
    (r"classifier/(output_weights|output_bias)$", r"\1"),
)

BRIGHTMART: Sequence[Tuple[str, str]] = (
    (r"embeddings/word_projection$", r"bert/embeddings/word_embeddings_2"),
    (r"embeddings/(.*)$", r"bert/embeddings/\1"),
    (_L + r"attention/(query|key|value)/(kernel|bias)$", r"bert/encoder/layer_shared/attention/self/\3/\4"),
    (_L + r"attention/output/(kernel|bias)$", r"bert/encoder/layer_shared/attention/output/dense/\3"),
    (_L + r"attention/LayerNorm/(gamma|beta)$", r"bert/encoder/layer_shared/attention/output/LayerNorm/\3"),
    (_L + r"ffn/intermediate/(kernel|bias)$", r"bert/encoder/layer_shared/intermediate/dense/\3"),
    (_L + r"ffn/output/(kernel|bias)$", r"bert/encoder/layer_shared/output/dense/\3"),
    (_L + r"ffn/LayerNorm/(gamma|beta)$", r"bert/encoder/layer_shared/output/LayerNorm/\3"),
) + BERT_HEADS

_G = r"bert/encoder/transformer/group_\1/inner_group_\2/"
GOOGLE: Sequence[Tuple[str, str]] = (
    (r"embeddings/(.*)$", r"bert/embeddings/\1"),
    (r"encoder/embedding_projection/(kernel|bias)$", r"bert/encoder/embedding_hidden_mapping_in/\1"),
    (_L + r"attention/(query|key|value)/(kernel|bias)$", _G + r"attention_1/self/\3/\4"),
    (_L + r"attention/output/(kernel|bias)$", _G + r"attention_1/output/dense/\3"),
    (_L + r"attention/LayerNorm/(gamma|beta)$", _G + r"LayerNorm/\3"),
    (_L + r"ffn/intermediate/(kernel|bias)$", _G + r"ffn_1/intermediate/dense/\3"),
    (_L + r"ffn/output/(kernel|bias)$", _G + r"ffn_1/intermediate/output/dense/\3"),
    (_L + r"ffn/LayerNorm/(gamma|beta)$", _G + r"LayerNorm_1/\3"),
) + BERT_HEADS

# Hugging Face: (canonical regex, state-dict key template). Linear kernels are stored [out, in]
# there and [in, out] here: `_hf_transposed` says which.
_HL = r"encoder.albert_layer_groups.\1.albert_layers.\2."
HUGGINGFACE: Sequence[Tuple[str, str]] = (
    (r"embeddings/LayerNorm/gamma$", r"albert.embeddings.LayerNorm.weight"),
    (r"embeddings/LayerNorm/beta$", r"albert.embeddings.LayerNorm.bias"),
    (r"embeddings/(\w+)$", r"albert.embeddings.\1.weight"),
    (r"encoder/embedding_projection/kernel$", r"albert.encoder.embedding_hidden_mapping_in.weight"),
    (r"encoder/embedding_projection/bias$", r"albert.encoder.embedding_hidden_mapping_in.bias"),
    (_L + r"attention/(query|key|value)/kernel$", r"albert." + _HL + r"attention.\3.weight"),
    (_L + r"attention/(query|key|value)/bias$", r"albert." + _HL + r"attention.\3.bias"),
    (_L + r"attention/output/kernel$", r"albert." + _HL + r"attention.dense.weight"),
    (_L + r"attention/output/bias$", r"albert." + _HL + r"attention.dense.bias"),
    (_L + r"attention/LayerNorm/gamma$", r"albert." + _HL + r"attention.LayerNorm.weight"),
    (_L + r"attention/LayerNorm/beta$", r"albert." + _HL + r"attention.LayerNorm.bias"),
    (_L + r"ffn/intermediate/kernel$", r"albert." + _HL + r"ffn.weight"),
    (_L + r"ffn/intermediate/bias$", r"albert." + _HL + r"ffn.bias"),
    (_L + r"ffn/output/kernel$", r"albert." + _HL + r"ffn_output.weight"),
    (_L + r"ffn/output/bias$", r"albert." + _HL + r"ffn_output.bias"),
    (_L + r"ffn/LayerNorm/gamma$", r"albert." + _HL + r"full_layer_layer_norm.weight"),
    (_L + r"ffn/LayerNorm/beta$", r"albert." + _HL + r"full_layer_layer_norm.bias"),
    (r"pooler/kernel$", r"albert.pooler.weight"),
    (r"pooler/bias$", r"albert.pooler.bias"),
    (r"mlm/transform/kernel$", r"predictions.dense.weight"),
    (r"mlm/transform/bias$", r"predictions.dense.bias"),
    (r"mlm/transform/LayerNorm/gamma$", r"predictions.LayerNorm.weight"),
    (r"mlm/transform/LayerNorm/beta$", r"predictions.LayerNorm.bias"),
    (r"mlm/output_bias$", r"predictions.bias"),
    (r"sop/output_weights$", r"sop_classifier.classifier.weight"),
    (r"sop/output_bias$", r"sop_classifier.classifier.bias"),
    (r"classifier/output_weights$", r"classifier.weight"),
    (r"classifier/output_bias$", r"classifier.bias"),
)

LAYOUT_TABLES: Mapping[str, Sequence[Tuple[str, str]]] = {
    "brightmart": BRIGHTMART, "google": GOOGLE, "huggingface": HUGGINGFACE}

# Canonical prefixes of task heads: a checkpoint without them still initialises the encoder
# (pretrained albert_zh → classifier for fine-tuning).
HEAD_PREFIXES = ("mlm/", "sop/", "classifier/")

OFFICIAL_SOURCES = (
    "Official albert_zh checkpoints (albert_tiny_zh, albert_tiny_zh_google, …) are linked from "
    "brightmart/albert_zh's README; download and unzip one, then pass its folder. To train one here: "
    "`python -m albert_edge.pretrain --help` and `python -m albert_edge.finetune --help`.")


class CheckpointError(ValueError):
    """A checkpoint cannot be used with this model; the message says what, where and how to fix."""


def layout_name(canonical: str, layout: str) -> str:
    """Canonical variable name -> its name in `layout` ('brightmart', 'google', 'huggingface')."""
    for pattern, template in LAYOUT_TABLES[layout]:
        match = re.match(pattern, canonical)
        if match:
            return match.expand(template)
    raise KeyError(f"no {layout} name for variable {canonical!r}")


def _hf_transposed(canonical: str) -> bool:
    return canonical.endswith("/kernel")


# ------------------------------------------------------------------------------------------------
# Locating and reading files
def find_tf1_checkpoint(path: str | os.PathLike) -> Optional[str]:
    """A TF1 checkpoint prefix for `path` (a prefix, a folder, or a `.index`/`.meta`/data file)."""
    path = str(path)
    for suffix in (".index", ".meta"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    path = re.sub(r"\.data-\d{5}-of-\d{5}$", "", path)
    if os.path.isfile(path + ".index"):
        return path
    if os.path.isdir(path):
        try:
            import tensorflow as tf
            latest = tf.train.latest_checkpoint(path)
        except Exception:  # a malformed `checkpoint` state file
            latest = None
        if latest and os.path.isfile(latest + ".index"):
            return latest
        indexes = sorted(Path(path).glob("*.index"))
        if len(indexes) == 1:
            return str(indexes[0])[: -len(".index")]
        if len(indexes) > 1:
            raise CheckpointError(f"{path} holds several checkpoints ({[p.name for p in indexes]}) and no "
                                  "'checkpoint' file naming the latest: pass the prefix you mean")
    return None


def is_hf_folder(path: str | os.PathLike) -> bool:
    return os.path.isdir(path) and os.path.isfile(os.path.join(path, "model.safetensors"))


def read_tf1_variables(prefix: str, with_values: bool = True) -> Dict[str, np.ndarray | Tuple[int, ...]]:
    """name -> array (or shape when `with_values` is False). Index-only checkpoints list shapes."""
    import tensorflow as tf
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as err:  # DataLossError, NotFoundError …: not a checkpoint we can read
        raise CheckpointError(f"{prefix}: not a readable TF checkpoint ({type(err).__name__}: "
                              f"{str(err).splitlines()[0]})") from None
    shapes = reader.get_variable_to_shape_map()
    if not with_values:
        return {k: tuple(v) for k, v in shapes.items()}
    out = {}
    for name in shapes:
        try:
            out[name] = reader.get_tensor(name)
        except Exception as err:
            raise CheckpointError(f"{prefix}: variable {name} cannot be read ({str(err).splitlines()[0]}); "
                                  "is the .data shard missing or truncated?") from None
    return out


def read_hf_folder(folder: str | os.PathLike) -> Tuple[AlbertConfig, Dict[str, np.ndarray]]:
    """config.json + model.safetensors → (config, state dict with the 'albert.' prefix)."""
    from safetensors.numpy import load_file
    folder = Path(folder)
    config = hf_config_to_albert(folder / "config.json")
    try:
        state = load_file(str(folder / "model.safetensors"))
    except Exception as err:
        raise CheckpointError(f"{folder / 'model.safetensors'}: not a readable safetensors file ({err})") from None
    # AlbertModel saves without the 'albert.' prefix; AlbertFor* with it.
    fixed = {}
    for key, value in state.items():
        if key.startswith(("embeddings.", "encoder.", "pooler.")):
            key = "albert." + key
        fixed[key] = value
    return config, fixed


def hf_config_to_albert(path: Path) -> AlbertConfig:
    """A Hugging Face AlbertConfig json -> AlbertConfig (google layout; HF 'gelu' is the exact erf)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: cannot read Hugging Face config ({err})") from None
    known = {f.name for f in dataclasses.fields(AlbertConfig)}
    fields = {k: v for k, v in data.items() if k in known}
    fields["hidden_act"] = {"gelu": "gelu_exact", "gelu_new": "gelu"}.get(fields.get("hidden_act", "gelu_new"),
                                                                          fields.get("hidden_act"))
    fields["layout"] = "google"
    return AlbertConfig.from_dict(fields, source=str(path))


def detect_layout(names: Iterable[str]) -> str:
    names = list(names)
    if any(n.startswith("albert.") for n in names):
        return "huggingface"
    if any(n.startswith("bert/encoder/transformer/") for n in names):
        return "google"
    if any(n.startswith("bert/encoder/layer_shared/") for n in names):
        return "brightmart"
    raise CheckpointError("this checkpoint holds no ALBERT encoder variables (neither "
                          "'bert/encoder/layer_shared/…' nor 'bert/encoder/transformer/…'); is it an albert_zh checkpoint?")


def infer_config(shapes: Mapping[str, Tuple[int, ...]]) -> AlbertConfig:
    """The config a TF1 checkpoint's shapes fit (heads and layer count from the matching preset)."""
    layout = detect_layout(shapes)
    V, E = shapes["bert/embeddings/word_embeddings"]
    P, width = shapes["bert/embeddings/position_embeddings"]
    T = shapes["bert/embeddings/token_type_embeddings"][0]
    if layout == "brightmart":
        H = shapes["bert/embeddings/word_embeddings_2"][1]
        I = shapes["bert/encoder/layer_shared/intermediate/dense/kernel"][1]
        groups = 1
    else:
        H = shapes["bert/encoder/embedding_hidden_mapping_in/kernel"][1]
        I = shapes["bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/dense/kernel"][1]
        groups = len({n.split("/")[3] for n in shapes if n.startswith("bert/encoder/transformer/group_")})
    preset = next((p for p in PRESETS.values() if p["hidden_size"] == H), None)
    heads = preset["num_attention_heads"] if preset else max(1, H // 64)
    layers = preset["num_hidden_layers"] if preset else 12
    return AlbertConfig(vocab_size=V, embedding_size=E, hidden_size=H, intermediate_size=I,
                        max_position_embeddings=P, type_vocab_size=T, layout=layout,
                        num_attention_heads=heads, num_hidden_layers=layers,
                        num_hidden_groups=groups if layers % groups == 0 else 1)


# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class LoadReport:
    source: str
    layout: str
    loaded: List[str]
    missing_heads: List[str]
    unused: List[str]

    def summary(self) -> str:
        text = f"loaded {len(self.loaded)} variables from {self.source} ({self.layout} layout)"
        if self.missing_heads:
            text += f"; freshly initialised: {sorted({n.split('/')[0] for n in self.missing_heads})}"
        return text


def _source_values(path: str | os.PathLike) -> Tuple[str, str, Dict[str, np.ndarray], Optional[AlbertConfig]]:
    """(resolved source, layout, name -> array, config if the source carries one)."""
    if not os.path.exists(path) and not os.path.exists(str(path) + ".index"):
        raise CheckpointError(f"checkpoint not found: {path}. {OFFICIAL_SOURCES}")
    if is_hf_folder(path):
        config, state = read_hf_folder(path)
        return str(path), "huggingface", state, config
    prefix = find_tf1_checkpoint(path)
    if prefix is None:
        if os.path.isfile(path) and str(path).endswith(".pb"):
            raise CheckpointError(f"{path} is a frozen graph, not a checkpoint: pass it to "
                                  "`python -m albert_edge.export --frozen-graph` instead")
        raise CheckpointError(f"{path}: no TF checkpoint (*.index) or Hugging Face folder "
                              f"(model.safetensors + config.json) there. {OFFICIAL_SOURCES}")
    values = read_tf1_variables(prefix)
    return prefix, detect_layout(values), values, None


def load_weights(model, path: str | os.PathLike, require_heads: Sequence[str] = (),
                 skip_heads: Sequence[str] = ()) -> LoadReport:
    """Assign a checkpoint's values to `model`'s variables (model must be built).

    Heads (`mlm/`, `sop/`, `classifier/`) absent from the checkpoint stay freshly initialised unless
    named in `require_heads`; heads named in `skip_heads` stay fresh even when present (a classifier
    of another task); every encoder variable must be present with the right shape.
    """
    source, layout, values, _ = _source_values(path)
    config: AlbertConfig = model.config
    if layout != "huggingface" and layout != config.layout:
        hint = ("a google-style config such as albert_config_tiny_google.json" if layout == "google"
                else "a brightmart-style config such as albert_config_tiny.json")
        raise CheckpointError(f"{source} is in the {layout} layout but the config describes the "
                              f"{config.layout} structure: use {hint}")
    if layout == "huggingface" and config.layout != "google":
        raise CheckpointError(f"{source} is a Hugging Face ALBERT (Google structure) but the config is "
                              "brightmart-style: use the folder's own config.json")
    weights = model.weight_map()
    loaded, missing_heads, problems = [], [], []
    assignments = []
    for canonical, variable in weights.items():
        name = layout_name(canonical, layout)
        if skip_heads and canonical.startswith(tuple(skip_heads)):
            missing_heads.append(canonical)
            continue
        if name not in values:
            if canonical.startswith(HEAD_PREFIXES) and not canonical.startswith(tuple(require_heads)):
                missing_heads.append(canonical)
                continue
            problems.append(f"missing variable {name}")
            continue
        value = values[name]
        if layout == "huggingface" and _hf_transposed(canonical):
            value = value.T
        expected = tuple(variable.shape)
        if tuple(value.shape) != expected:
            problems.append(f"shape mismatch for {name}: the config expects {list(expected)}, "
                            f"the checkpoint has {list(value.shape)}")
            continue
        assignments.append((variable, value))
        loaded.append(canonical)
    if problems:
        hint = ""
        if layout != "huggingface":
            try:
                fit = infer_config({k: v.shape for k, v in values.items()})
                hint = ("\nA config that fits this checkpoint: " + json.dumps(
                    {k: getattr(fit, k) for k in ("layout", "vocab_size", "embedding_size", "hidden_size",
                                                  "intermediate_size", "max_position_embeddings")}))
            except (KeyError, CheckpointError, ValueError):
                pass
        shown = problems[:8] + ([f"… and {len(problems) - 8} more"] if len(problems) > 8 else [])
        raise CheckpointError(f"{source} does not fit the model's config:\n  " + "\n  ".join(shown) + hint)
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype.as_numpy_dtype))
    used = {layout_name(c, layout) for c in loaded}
    unused = sorted(n for n in values if n not in used and not _is_bookkeeping(n))
    report = LoadReport(source, layout, loaded, missing_heads, unused)
    logger.info(report.summary())
    return report


def _is_bookkeeping(name: str) -> bool:
    """Optimizer slots and counters that albert_zh training checkpoints carry beside the weights."""
    return (name == "global_step" or name.endswith(("/adam_m", "/adam_v", "/lamb_m", "/lamb_v"))
            or "predictions.decoder" in name or name.startswith("_CHECKPOINTABLE"))


# ------------------------------------------------------------------------------------------------
# Writing
def save_tf1_checkpoint(model, prefix: str | os.PathLike, layout: Optional[str] = None,
                        extra: Optional[Mapping[str, np.ndarray]] = None, heads: bool = True) -> str:
    """Write the model's weights as a TF1 checkpoint in `layout` (default: the config's).

    heads=False writes the encoder only (no MLM / SOP / classifier): a starting point that every
    task's head, and the MLM head's own initialisation, can be put on.

    Files appear under their final names only once complete (written beside, then renamed), and a
    `checkpoint` state file names the prefix so `tf.train.latest_checkpoint(folder)` finds it.
    """
    import tensorflow as tf
    layout = layout or model.config.layout
    if layout not in ("brightmart", "google"):
        raise ValueError(f"TF1 layout must be 'brightmart' or 'google', got {layout!r}")
    if layout != model.config.layout:
        raise CheckpointError(f"a {model.config.layout}-structured model cannot be written in the {layout} layout")
    tensors = {layout_name(c, layout): v.numpy() for c, v in model.weight_map().items()
               if heads or not c.startswith(HEAD_PREFIXES)}
    tensors.update(extra or {})
    prefix = Path(prefix)
    folder, stem = prefix.parent, prefix.name

    def write(tmp: Path) -> None:
        names = sorted(tensors)
        tf.raw_ops.SaveV2(prefix=str(tmp / stem), tensor_names=names, shape_and_slices=[""] * len(names),
                          tensors=[tf.constant(tensors[n]) for n in names])
        (tmp / "checkpoint").write_text(
            f'model_checkpoint_path: "{stem}"\nall_model_checkpoint_paths: "{stem}"\n', encoding="utf-8")

    atomic_dir(folder, write, merge=True)
    logger.info("wrote %s checkpoint %s (%d variables)", layout, prefix, len(tensors))
    return str(prefix)


def hf_config_dict(config: AlbertConfig, num_labels: Optional[int] = None) -> dict:
    """Hugging Face AlbertConfig json for `config` (brightmart models are written unfactorized)."""
    act = {"gelu": "gelu_new", "gelu_new": "gelu_new", "gelu_exact": "gelu"}.get(config.hidden_act, config.hidden_act)
    embedding = config.embedding_size if config.layout == "google" else config.hidden_size
    d = {
        "model_type": "albert", "architectures": ["AlbertForSequenceClassification" if num_labels else "AlbertModel"],
        "vocab_size": config.vocab_size, "embedding_size": embedding, "hidden_size": config.hidden_size,
        "num_hidden_layers": config.num_hidden_layers, "num_attention_heads": config.num_attention_heads,
        "intermediate_size": config.intermediate_size, "hidden_act": act,
        "hidden_dropout_prob": config.hidden_dropout_prob,
        "attention_probs_dropout_prob": config.attention_probs_dropout_prob,
        "max_position_embeddings": config.max_position_embeddings, "type_vocab_size": config.type_vocab_size,
        "initializer_range": config.initializer_range, "layer_norm_eps": config.layer_norm_eps,
        "num_hidden_groups": config.num_hidden_groups, "inner_group_num": config.inner_group_num,
        "pad_token_id": 0, "classifier_dropout_prob": 0.1,
    }
    if num_labels:
        d["id2label"] = {str(i): f"LABEL_{i}" for i in range(num_labels)}
        d["label2id"] = {f"LABEL_{i}": i for i in range(num_labels)}
    return d


def hf_state_dict(model) -> Dict[str, np.ndarray]:
    """The model's weights as a Hugging Face ALBERT state dict.

    brightmart embeddings (lookup V×E, then E×H, then position/type/LayerNorm in H) have no exact
    Google-structure equivalent with E < H, so they are written *unfactorized*: word embeddings
    W·W₂ [V, H], embedding_size = H and an identity `embedding_hidden_mapping_in`. The encoder,
    pooler and classifier are exact; brightmart's MLM head (LayerNorm in H, then W₂ᵀ) has no HF
    counterpart and is left out with a warning.
    """
    weights = {c: v.numpy() for c, v in model.weight_map().items()}
    if model.config.layout == "brightmart":
        projection = weights.pop("embeddings/word_projection")
        weights["embeddings/word_embeddings"] = weights["embeddings/word_embeddings"] @ projection
        H = model.config.hidden_size
        weights["encoder/embedding_projection/kernel"] = np.eye(H, dtype=np.float32)
        weights["encoder/embedding_projection/bias"] = np.zeros([H], np.float32)
        dropped = [c for c in weights if c.startswith("mlm/")]
        if dropped:
            logger.warning("brightmart masked-LM head has no Hugging Face equivalent: not written")
        for c in dropped:
            weights.pop(c)
    state = {}
    for canonical, value in weights.items():
        key = layout_name(canonical, "huggingface")
        state[key] = np.ascontiguousarray(value.T if _hf_transposed(canonical) else value)
    if "predictions.bias" in state:  # HF ties the decoder to the embeddings and keeps a bias copy
        state["predictions.decoder.bias"] = state["predictions.bias"].copy()
    return state


def save_hf(model, folder: str | os.PathLike) -> str:
    """Write config.json + model.safetensors loadable by `transformers`' Albert* classes."""
    from safetensors.numpy import save_file
    num_labels = getattr(model, "num_labels", None)
    config = hf_config_dict(model.config, num_labels)
    state = hf_state_dict(model)

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    atomic_dir(Path(folder), write, merge=True)
    return str(folder)


def config_for_checkpoint(path: str | os.PathLike) -> Optional[AlbertConfig]:
    """The config stored beside a checkpoint (albert_config*.json / config.json), if any."""
    folder = Path(path) if os.path.isdir(path) else Path(path).parent
    if is_hf_folder(folder):
        return hf_config_to_albert(folder / "config.json")
    for name in ("albert_config.json", "albert_config_tiny.json", "bert_config.json"):
        if (folder / name).is_file():
            return AlbertConfig.from_json_file(folder / name)
    candidates = sorted(folder.glob("albert_config*.json"))
    return AlbertConfig.from_json_file(candidates[0]) if len(candidates) == 1 else None
