"""Architecture specs read from a Hugging Face `config.json`: the facts the memory ledger needs.

Dense decoder-only transformers with a full-attention KV cache (Llama, Qwen2, Mistral classes).
Architectures whose cache the ledger cannot size (MoE, MLA latent caches, hybrid or sliding
attention) are refused with `UnsupportedArchitecture`, never silently mis-sized.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_DIR = Path(__file__).parent / "specs"
TESTBED_DIR = Path(__file__).parent / "testbed"
SUPPORTED_TYPES = ("llama", "qwen2", "mistral")
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}


class UnsupportedArchitecture(ValueError):
    """The ledger cannot model this architecture's memory correctly."""


@dataclass(frozen=True)
class ArchSpec:
    """Shape facts of one model; all counts are integers, `head_dim` explicit or derived."""

    name: str
    model_type: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tied_embeddings: bool
    qkv_bias: bool
    max_positions: int
    dtype: str = "bfloat16"
    sliding_window: int | None = None
    reference_parameters: int | None = None

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim

    def linear_shapes(self) -> list[tuple[str, int, int, bool]]:
        """(name, in_features, out_features, has_bias) of every decoder linear layer, per layer."""
        h, i = self.hidden_size, self.intermediate_size
        return [
            ("q_proj", h, self.q_dim, self.qkv_bias),
            ("k_proj", h, self.kv_dim, self.qkv_bias),
            ("v_proj", h, self.kv_dim, self.qkv_bias),
            ("o_proj", self.q_dim, h, False),
            ("gate_proj", h, i, False),
            ("up_proj", h, i, False),
            ("down_proj", i, h, False),
        ]

    @property
    def parameters(self) -> int:
        """Parameter count; tied embeddings are counted once."""
        linear = sum(a * b + (b if bias else 0) for _, a, b, bias in self.linear_shapes())
        per_layer = linear + 2 * self.hidden_size  # two RMSNorm weights
        embed = self.vocab_size * self.hidden_size
        head = 0 if self.tied_embeddings else embed
        return self.num_layers * per_layer + embed + head + self.hidden_size


_REFUSALS = (
    (("num_experts", "num_local_experts", "n_routed_experts", "moe_intermediate_size"),
     "mixture-of-experts"),
    (("kv_lora_rank", "q_lora_rank"), "multi-head latent attention (compressed KV)"),
)


def _refuse_unsupported(cfg: dict[str, Any], name: str) -> None:
    for keys, what in _REFUSALS:
        if any(cfg.get(k) for k in keys):
            raise UnsupportedArchitecture(
                f"{name}: {what} is not supported: the ledger models dense full-attention "
                f"decoders only ({', '.join(SUPPORTED_TYPES)})"
            )
    layer_types = set(cfg.get("layer_types") or ["full_attention"])
    if layer_types - {"full_attention"}:
        raise UnsupportedArchitecture(
            f"{name}: hybrid attention (layer types {sorted(layer_types)}) is not supported: "
            "the ledger models a full-attention KV cache in every layer"
        )
    model_type = cfg.get("model_type")
    if model_type not in SUPPORTED_TYPES:
        raise UnsupportedArchitecture(
            f"{name}: model_type {model_type!r} is not supported; supported: "
            f"{', '.join(SUPPORTED_TYPES)}"
        )


def _active_window(cfg: dict[str, Any]) -> int | None:
    window = cfg.get("sliding_window")
    if window is None or cfg.get("use_sliding_window") is False:
        return None
    return int(window)


def spec_from_config(cfg: dict[str, Any], name: str | None = None) -> ArchSpec:
    """Build a spec from a config.json dictionary; refuse what the ledger cannot size."""
    name = name or str(cfg.get("_name_or_path") or cfg.get("model_type") or "model")
    _refuse_unsupported(cfg, name)
    try:
        heads = int(cfg["num_attention_heads"])
        hidden = int(cfg["hidden_size"])
        head_dim = int(cfg.get("head_dim") or hidden // heads)
        spec = ArchSpec(
            name=name,
            model_type=str(cfg["model_type"]),
            num_layers=int(cfg["num_hidden_layers"]),
            hidden_size=hidden,
            num_heads=heads,
            num_kv_heads=int(cfg.get("num_key_value_heads") or heads),
            head_dim=head_dim,
            intermediate_size=int(cfg["intermediate_size"]),
            vocab_size=int(cfg["vocab_size"]),
            tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            qkv_bias=bool(cfg.get("attention_bias", cfg["model_type"] == "qwen2")),
            max_positions=int(cfg.get("max_position_embeddings") or 0),
            dtype=str(cfg.get("torch_dtype") or cfg.get("dtype") or "bfloat16"),
            sliding_window=_active_window(cfg),
            reference_parameters=cfg.get("_kvpareto_reference_parameters"),
        )
    except KeyError as exc:
        raise ValueError(f"{name}: config.json lacks the field {exc.args[0]!r}") from None
    if spec.sliding_window is not None:
        raise UnsupportedArchitecture(
            f"{name}: an active sliding window ({spec.sliding_window} tokens) is not supported: "
            "the ledger models a full-attention KV cache"
        )
    return spec


def shipped_specs() -> dict[str, Path]:
    """Name → config.json path of every shipped spec and testbed model."""
    found = {p.stem: p for p in sorted(SPEC_DIR.glob("*.json"))}
    for cfg in sorted(TESTBED_DIR.glob("*/config.json")):
        found[cfg.parent.name] = cfg
    return found


def load_spec(model: str | Path | dict[str, Any]) -> ArchSpec:
    """A spec from a shipped name, a config.json path, a model folder, or a config dict."""
    if isinstance(model, dict):
        return spec_from_config(model)
    shipped = shipped_specs()
    key = str(model)
    if key in shipped:
        return spec_from_config(json.loads(shipped[key].read_text()), key)
    path = Path(model)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        names = ", ".join(shipped)
        raise ValueError(f"unknown model {key!r}: not a config.json path, and not one of {names}")
    try:
        cfg = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return spec_from_config(cfg, path.parent.name if path.name == "config.json" else path.stem)
