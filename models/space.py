"""The configuration space: weights × KV quantization × prefill chunk, as frozen value objects.

A `Config` has exactly one canonical id (``w4-k4v2-block64-ks-r0-c256``) that parses back to an
equal object; ids are the keys of the store, the artifacts and the API.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

WEIGHT_BITS = (16, 4)
AWQ_GROUPS = (128, 64, 32)
AWQ_DEFAULT_GROUP = 128  # `w4`: the group size an id without `g<G>` means
KV_BITS = (16, 8, 4, 2)
GRANULARITIES = ("tensor", "token", "block", "channel")
BLOCK_GROUPS = (32, 64, 128)
RESIDUALS = (0, 32, 128)
CHUNK_MIN, CHUNK_MAX = 64, 4096
CHUNKS = (64, 128, 256, 512, 1024, 2048, 4096)
# KIVI-style per-channel keys quantize whole groups of this many tokens; the tail stays 16-bit.
CHANNEL_GROUP_TOKENS = 32
# The study's K/V pairs (keys never get fewer bits than values) plus the 16-bit baseline.
STUDY_KV_PAIRS = ((16, 16), (8, 8), (8, 4), (8, 2), (4, 4), (4, 2), (2, 2))

Granularity = Literal["tensor", "token", "block", "channel"]


def _allowed(name: str, value: object, allowed: tuple[object, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be one of {choices}; got {value!r}")


@dataclass(frozen=True)
class Weights:
    """Weight precision: 16-bit, or AWQ int4 with a group size."""

    bits: int = 16
    group: int | None = None

    def __post_init__(self) -> None:
        _allowed("weight bits", self.bits, WEIGHT_BITS)
        if self.bits == 16 and self.group is not None:
            raise ValueError("16-bit weights take no group size")
        if self.bits == 4:
            _allowed("AWQ group size", self.group, AWQ_GROUPS)

    @property
    def id(self) -> str:
        if self.bits == 16:
            return "w16"
        return "w4" if self.group == AWQ_DEFAULT_GROUP else f"w4g{self.group}"


@dataclass(frozen=True)
class KVScheme:
    """How the KV cache is stored: K and V bits, grouping, key smoothing, 16-bit residual window.

    `granularity` is one scale+zero per: `tensor` (layer and flush segment), `token` (token and
    head), `block` (`group` contiguous elements of one token-head), `channel` (keys: one channel
    of one head over CHANNEL_GROUP_TOKENS tokens, KIVI-style; values: per token).
    A 16/16 scheme is the unquantized baseline and carries no other knob.
    """

    k_bits: int = 16
    v_bits: int = 16
    granularity: Granularity | None = None
    group: int | None = None
    smooth_keys: bool = False
    residual: int = 0

    def __post_init__(self) -> None:
        _allowed("K bits", self.k_bits, KV_BITS)
        _allowed("V bits", self.v_bits, KV_BITS)
        if self.is_baseline:
            if self.granularity is not None or self.smooth_keys or self.residual or self.group:
                raise ValueError("a k16v16 cache takes no granularity, smoothing or residual")
            return
        _allowed("granularity", self.granularity, GRANULARITIES)
        if self.granularity == "block":
            _allowed("block group size", self.group, BLOCK_GROUPS)
        elif self.group is not None:
            raise ValueError(f"granularity {self.granularity!r} takes no group size")
        _allowed("residual window", self.residual, RESIDUALS)
        if self.smooth_keys and self.k_bits == 16:
            raise ValueError("key smoothing needs quantized keys (K bits 8, 4 or 2)")

    @property
    def is_baseline(self) -> bool:
        return self.k_bits == 16 and self.v_bits == 16

    @property
    def label(self) -> str:
        """The granularity as ids write it: tensor, token, channel or block<G>."""
        return f"block{self.group}" if self.granularity == "block" else str(self.granularity)

    def side_key(self, side: Literal["k", "v"]) -> str | None:
        """Key of one side in an artifact's `kv_error` table, e.g. ``k4-block64-ks``; None
        when that side is 16-bit. KIVI's values (granularity channel) are quantized per token."""
        bits = self.k_bits if side == "k" else self.v_bits
        if bits == 16:
            return None
        gran = "token" if side == "v" and self.granularity == "channel" else self.label
        smooth = "-ks" if side == "k" and self.smooth_keys else ""
        return f"{side}{bits}-{gran}{smooth}"

    def side_keys(self) -> tuple[str, ...]:
        """The `kv_error` keys this scheme needs (none for the 16-bit baseline)."""
        return tuple(k for s in ("k", "v") if (k := self.side_key(s)) is not None)

    @property
    def id(self) -> str:
        bits = f"k{self.k_bits}v{self.v_bits}"
        if self.is_baseline:
            return bits
        ks = "-ks" if self.smooth_keys else ""
        return f"{bits}-{self.label}{ks}-r{self.residual}"


@dataclass(frozen=True)
class Config:
    """One point of the space: weights, KV scheme and prefill chunk (None = whole prompt)."""

    weights: Weights = Weights()
    kv: KVScheme = KVScheme()
    chunk: int | None = None

    def __post_init__(self) -> None:
        if self.chunk is not None and not (
            isinstance(self.chunk, int) and CHUNK_MIN <= self.chunk <= CHUNK_MAX
        ):
            raise ValueError(
                f"prefill chunk must be an integer in {CHUNK_MIN}..{CHUNK_MAX} tokens or none "
                f"(id 'cfull'); got {self.chunk!r}"
            )

    @property
    def id(self) -> str:
        chunk = "cfull" if self.chunk is None else f"c{self.chunk}"
        return f"{self.weights.id}-{self.kv.id}-{chunk}"

    def __str__(self) -> str:
        return self.id


BASELINE = Config()

_ID = re.compile(
    r"^(?P<w>w16|w4(?:g(?P<wg>\d+))?)"
    r"-k(?P<k>\d+)v(?P<v>\d+)"
    r"(?:-(?P<gran>tensor|token|channel|block(?P<bg>\d+))(?P<ks>-ks)?-r(?P<r>\d+))?"
    r"-c(?P<c>full|\d+)$"
)
ID_FORMAT = "w16|w4[g64|g32]-k<bits>v<bits>[-tensor|token|channel|block<G>[-ks]-r<R>]-c<C>|cfull"


def parse_weights(weights_id: str) -> Weights:
    """`w16`, `w4` (AWQ group 128), `w4g64` or `w4g32` as a `Weights`."""
    m = re.fullmatch(r"w(16|4)(?:g(\d+))?", weights_id.strip())
    if m is None or (m[1] == "16" and m[2]):
        raise ValueError(f"malformed weights id {weights_id!r}; expected w16, w4, w4g64 or w4g32")
    return Weights(16) if m[1] == "16" else Weights(4, int(m[2] or AWQ_DEFAULT_GROUP))


def parse_config(config_id: str) -> Config:
    """Parse a canonical id; raise ValueError naming the format and allowed values."""
    m = _ID.match(config_id.strip())
    if m is None:
        raise ValueError(
            f"malformed configuration id {config_id!r}; expected {ID_FORMAT}, "
            "for example w4-k4v2-block64-ks-r0-c256 or w16-k16v16-cfull"
        )
    weights = parse_weights(m["w"])
    gran = m["gran"]
    if gran is None:
        kv = KVScheme(int(m["k"]), int(m["v"]))
    else:
        block = gran.startswith("block")
        kv = KVScheme(
            int(m["k"]),
            int(m["v"]),
            granularity="block" if block else gran,  # type: ignore[arg-type]
            group=int(m["bg"]) if block else None,
            smooth_keys=m["ks"] is not None,
            residual=int(m["r"]),
        )
    chunk = None if m["c"] == "full" else int(m["c"])
    config = Config(weights, kv, chunk)
    if config.id != config_id.strip():
        raise ValueError(f"non-canonical configuration id {config_id!r}; write {config.id!r}")
    return config


def kv_schemes(
    pairs: tuple[tuple[int, int], ...] = STUDY_KV_PAIRS,
    residuals: tuple[int, ...] = (0, 128),
) -> Iterator[KVScheme]:
    """Every KV scheme over the given K/V pairs × granularities × smoothing × residuals."""
    grans: list[tuple[Granularity, int | None]] = [("tensor", None), ("token", None)]
    grans += [("block", g) for g in BLOCK_GROUPS] + [("channel", None)]
    for k, v in pairs:
        if (k, v) == (16, 16):
            yield KVScheme()
            continue
        for (gran, group), ks, r in itertools.product(grans, (False, True), residuals):
            if ks and k == 16:
                continue
            yield KVScheme(k, v, gran, group, ks, r)


def enumerate_grid(
    pairs: tuple[tuple[int, int], ...] = STUDY_KV_PAIRS,
    weights: tuple[Weights, ...] = (Weights(16), Weights(4, 128)),
    chunks: tuple[int | None, ...] = (None, 256, 512, 1024),
    residuals: tuple[int, ...] = (0, 128),
) -> list[Config]:
    """The grid of configurations (the study's pairs by default: 1,160 points)."""
    schemes = list(kv_schemes(pairs, residuals))
    return [Config(w, kv, c) for w in weights for kv in schemes for c in chunks]


def full_grid() -> list[Config]:
    """Every K/V pair, all AWQ groups, residual 0/32/128, eight chunk settings (15,584 points)."""
    pairs = tuple((k, v) for k in KV_BITS for v in KV_BITS)
    return enumerate_grid(
        pairs,
        weights=tuple([Weights(16)] + [Weights(4, g) for g in AWQ_GROUPS]),
        chunks=(None, *CHUNKS),
        residuals=RESIDUALS,
    )
