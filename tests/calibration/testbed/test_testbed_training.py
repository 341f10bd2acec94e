"""Seconds-long smoke run of the training loop, training rows, Llama -> Mistral conversion."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForCausalLM

from calibration.testbed import data
from calibration.testbed.architectures import ARCHS, Dims, make_config, make_model
from calibration.testbed.convert import llama_to_mistral
from calibration.testbed.tokenizer import build_tokenizer, save_tokenizer
from calibration.testbed.train import TrainConfig, train

TINY = Dims(hidden=64, intermediate=128, layers=1, heads=2, kv_heads=1, max_positions=512)


def tiny_config(arch: str, seed: int) -> TrainConfig:
    return TrainConfig(
        arch=arch,
        seed=seed,
        dims=TINY,
        repeat_batch=4,
        stage_a_max_steps=3,
        lengths=(64, 96),
        tokens_per_step=192,
        min_steps_per_length=2,
        min_steps_last_length=2,
        max_steps_per_length=3,
        eval_every=2,
        eval_samples=3,
        stage_c_steps=2,
        final_lengths=(128,),
        final_samples=2,
        warmup_steps=2,
    )


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_smoke_training_saves_a_bf16_hf_folder(arch: str, tmp_path: Path) -> None:
    report = train(tiny_config(arch, 0), tmp_path / "m", log=False)
    folder = tmp_path / "m"
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == arch
    assert config["tie_word_embeddings"] is False
    assert config["num_key_value_heads"] == 1
    assert config["hidden_size"] == 64
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
        has_bias = any(k.endswith("q_proj.bias") for k in f.keys())  # noqa: SIM118 (safe_open is not a dict)
    assert dtypes == {torch.bfloat16}
    assert has_bias == (arch == "qwen2")
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    assert type(model).__name__ == type(ARCHS[arch].model_cls(model.config)).__name__
    acc = report["bf16_exact_match"]
    assert set(acc) == {"kv_retrieval", "passkey"}
    assert all(
        0.0 <= v <= 1.0 for v in acc["passkey"].values()
    )


def test_training_is_deterministic_from_its_seed(tmp_path: Path) -> None:
    def weights(seed: int, name: str) -> dict[str, torch.Tensor]:
        train(tiny_config("llama", seed), tmp_path / name, log=False)
        with safe_open(str(tmp_path / name / "model.safetensors"), "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)

    a, b, c = weights(0, "a"), weights(0, "b"), weights(1, "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_rows_supervise_only_answers() -> None:
    tok = build_tokenizer()
    rng = random.Random(0)
    for _ in range(20):
        ids, mask = data.kv_row(tok, rng, 256, tok.bos_token_id)
        assert len(ids) == len(mask) <= 256
        assert ids[0] == tok.bos_token_id
        targets = tok.decode([i for i, m in zip(ids, mask, strict=True) if m]).split()
        assert targets[1::2] == ["."] * (len(targets) // 2)
        assert all(
            t.isdigit() for t in targets[::2]
        )
    ids, mask = data.repeat_row(rng, 4, len(tok), tok.bos_token_id)
    n = sum(mask)
    assert ids[-n:] == ids[-2 * n - 1 : -n - 1]
    assert not mask[-n - 1]


def test_mistral_conversion_has_identical_logits(tmp_path: Path) -> None:
    tok = build_tokenizer()
    torch.manual_seed(0)
    cfg = make_config("llama", TINY, len(tok), tok.pad_token_id, tok.bos_token_id, tok.eos_token_id)
    make_model("llama", cfg).to(torch.bfloat16).save_pretrained(str(tmp_path / "llama"))
    save_tokenizer(tmp_path / "llama")
    llama_to_mistral(tmp_path / "llama", tmp_path / "mistral")
    ids = tok(
        "the value of amber fox is 417 . question : what is the value of amber fox ?",
        return_tensors="pt",
    )["input_ids"]
    out = {}
    for name in ("llama", "mistral"):
        model = AutoModelForCausalLM.from_pretrained(str(tmp_path / name), dtype=torch.bfloat16)
        out[name] = model(ids).logits
    assert type(model).__name__ == "MistralForCausalLM"
    assert model.config.sliding_window is None
    assert torch.equal(out["llama"], out["mistral"])


def test_unknown_arch_lists_allowed() -> None:
    with pytest.raises(ValueError, match="allowed: llama, mistral, qwen2"):
        make_config("gpt2", TINY, 10, 0, 1, 2)


@pytest.mark.parametrize("max_len", [64, 128, 256, 512, 1024, 2048], ids=lambda n: f"L{n}")
def test_curriculum_rows_fit_every_length(max_len: int) -> None:
    tok = build_tokenizer()
    rng = random.Random(max_len)
    rows = [data.retrieval_row(tok, rng, max_len, tok.bos_token_id) for _ in range(40)]
    assert all(len(ids) <= max(max_len, data.PASSKEY_MIN_TOKENS) for ids, _ in rows)
    assert all(any(mask) for _, mask in rows)


@pytest.mark.parametrize("text", ["512,256", "0,64", "a,b", ""], ids=["order", "zero", "text",
                                                                      "empty"])
def test_curriculum_lengths_on_the_command_line_are_checked(text: str, capsys) -> None:
    from calibration.testbed.train import main

    with pytest.raises(SystemExit) as exc:
        main(["--arch", "llama", "--out", "/nonexistent", "--lengths", text])
    assert exc.value.code == 2
    assert "--lengths" in capsys.readouterr().err
