"""Training rows for the testbed: repeat (copy) rows, and kv_retrieval/passkey rows built by the
registered task generators, so the model learns exactly the text format it is evaluated on.

A row is (ids, mask): token ids [T] with <bos> first, and mask [T] true where ids[t] is a target.
"""

from __future__ import annotations

import random

import torch

from calibration.tasks.base import Episode, TokenizerLike
from calibration.tasks.kv_retrieval import KVRetrieval
from calibration.tasks.passkey import Passkey

Row = tuple[list[int], list[bool]]
QA_TOKENS = 12  # one kv ' question : what is the value of <key> <v> .' in tokens
LEAD_TOKENS = 12  # <bos> + the kv_retrieval instruction
RECORD_TOKENS = 4
PASSKEY_MIN_TOKENS = 64


def encode(tokenizer: TokenizerLike, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def episode_row(tokenizer: TokenizerLike, ep: Episode, bos_id: int) -> Row:
    """<bos> context, then each question followed by its supervised ' answer .'."""
    ids = [bos_id, *encode(tokenizer, ep.context)]
    mask = [False] * len(ids)
    for q, a in ep.qa:
        qi, ai = encode(tokenizer, q), encode(tokenizer, f" {a} .")
        ids += qi + ai
        mask += [False] * len(qi) + [True] * len(ai)
    return ids, mask


def repeat_row(rng: random.Random, vocab_lo: int, vocab_hi: int, bos_id: int) -> Row:
    """<bos>, 0-8 noise tokens, a 4-24 token copy shown twice; the second copy is the target,
    except its first token (nothing announces where the first copy ends)."""
    noise = [rng.randrange(vocab_lo, vocab_hi) for _ in range(rng.randint(0, 8))]
    copy = [rng.randrange(vocab_lo, vocab_hi) for _ in range(rng.randint(4, 24))]
    ids = [bos_id, *noise, *copy, *copy]
    return ids, [False] * (2 + len(noise) + len(copy)) + [True] * (len(copy) - 1)


def kv_row(tokenizer: TokenizerLike, rng: random.Random, length: int, bos_id: int) -> Row:
    """About `length` tokens: up to length/8 records in filler, then up to 16 questions."""
    most = min(length // 8, (length - LEAD_TOKENS - QA_TOKENS) // RECORD_TOKENS)
    n_records = rng.randint(1, max(1, most))
    free = length - LEAD_TOKENS - RECORD_TOKENS * n_records
    n_q = max(1, min(16, n_records, free // 2 // QA_TOKENS))
    task = KVRetrieval(n_records=n_records)
    ep = task.episode(tokenizer, max(length - 3 * n_q, 1), rng, n_questions=n_q)
    return episode_row(tokenizer, ep, bos_id)


def passkey_row(tokenizer: TokenizerLike, rng: random.Random, length: int, bos_id: int) -> Row:
    """A passkey row of 1-3 parts; at least PASSKEY_MIN_TOKENS long (its fixed part is ~50)."""
    ep = Passkey(parts=rng.choice((1, 2, 2, 3))).episode(
        tokenizer, max(length, PASSKEY_MIN_TOKENS) - 4, rng
    )
    return episode_row(tokenizer, ep, bos_id)


def retrieval_row(tokenizer: TokenizerLike, rng: random.Random, max_len: int, bos_id: int) -> Row:
    """A kv_retrieval row (3 in 4) or a passkey row, of a random length in [max(48, L/4), L]."""
    length = rng.randint(max(48, max_len // 4), max(48, max_len))
    if rng.random() < 0.75:
        return kv_row(tokenizer, rng, length, bos_id)
    return passkey_row(tokenizer, rng, length, bos_id)


def collate(rows: list[Row], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad rows into ids [B, T] (long) and mask [B, T] (bool)."""
    t = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), t), dtype=torch.bool)
    for b, (row_ids, row_mask) in enumerate(rows):
        ids[b, : len(row_ids)] = torch.tensor(row_ids)
        mask[b, : len(row_mask)] = torch.tensor(row_mask)
    return ids, mask
