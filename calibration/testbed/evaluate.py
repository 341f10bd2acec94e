"""Exact-match evaluation of a saved model folder on registered tasks, by greedy decoding.

Used at the end of training on the saved bfloat16 weights, and by the tests on the shipped models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from calibration.tasks import TASKS
from calibration.tasks.base import Sample, TokenizerLike


def load(
    model_dir: str | Path, dtype: torch.dtype = torch.bfloat16
) -> tuple[PreTrainedModel, TokenizerLike]:
    model = AutoModelForCausalLM.from_pretrained(
        str(model_dir), dtype=dtype, trust_remote_code=False, use_safetensors=True
    )
    model.eval()
    return model, AutoTokenizer.from_pretrained(str(model_dir), trust_remote_code=False)


@torch.no_grad()
def greedy(
    model: PreTrainedModel, tokenizer: TokenizerLike, sample: Sample, max_new_tokens: int
) -> str:
    """Prefill context + question, decode greedily; the new text without special tokens."""
    ids = tokenizer(sample.context + sample.question, return_tensors="pt")["input_ids"]
    out = model.generate(  # type: ignore[operator]
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
    )
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))  # type: ignore[attr-defined]


def accuracy(
    model: PreTrainedModel,
    tokenizer: TokenizerLike,
    task: str,
    context_tokens: int,
    n: int,
    seed: int,
) -> float:
    """Mean exact match over n held-out samples of `task` at `context_tokens`."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; allowed: {', '.join(sorted(TASKS))}")
    t = TASKS[task]
    samples = t.generate(tokenizer, context_tokens, n, seed)
    scores = [t.score(greedy(model, tokenizer, s, max_new_tokens=5), s) for s in samples]
    return sum(scores) / max(1, len(scores))


def table(
    model_dir: str | Path, tasks: Sequence[str], lengths: Sequence[int], n: int, seed: int = 999
) -> dict[str, dict[int, float]]:
    """{task: {context_tokens: exact match}} of the bf16 model saved in model_dir."""
    model, tok = load(model_dir)
    return {t: {L: accuracy(model, tok, t, L, n, seed) for L in lengths} for t in tasks}
