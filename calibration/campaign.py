"""A calibration campaign: K/V error table, then runs chosen by the sampler, recorded in the store.

`exhaustive` runs every candidate; `active` runs a stratified initial design (40% of the budget)
and then rounds of frontier-driven picks until the run budget is spent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from calibration.executors import Executor, sweep
from calibration.fitting import METRICS, fit_memory
from calibration.sampler import ActiveSampler, Candidate, exhaustive, fill, initial_design, pool
from calibration.store import Measurement, RunKey, Store
from models.space import AWQ_GROUPS, BASELINE, Config, Weights, parse_config
from models.specs import ArchSpec, spec_from_config

OnResult = Callable[[RunKey, Measurement], None]


def resolve_model(model: str) -> Path:
    """A local model folder, or a hub id already in the local Hugging Face cache."""
    path = Path(model)
    if (path / "config.json").is_file():
        return path
    if "/" in model and not path.exists():
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(model, local_files_only=True))
        except Exception:  # noqa: BLE001 - offline: say what is missing
            pass
    raise ValueError(f"model {model!r} is neither a folder with a config.json nor a hub id in "
                     "the local Hugging Face cache")


@dataclass
class Campaign:
    store: Store
    executor: Executor
    model_dir: Path
    contexts: Sequence[int]
    tasks: Sequence[str]
    n: int = 16
    seed: int = 0
    device: str = "cpu"
    on_result: OnResult | None = None
    configs: Sequence[Config] | None = None  # the calibration space (default: sampler.pool)
    metric: str = "exact_match"  # what active rounds push the frontier of (first task)
    # 16-bit baseline only, at lengths beyond `contexts`: the model's own long-context decline
    # is not a quantization effect and cannot be extrapolated from short runs (one run a task)
    anchor_contexts: Sequence[int] = ()
    # peak memory only (n = 0: one probed prefill, no decoding) of every configuration run, at
    # these further lengths: more points pin the memory terms' growth with the context
    memory_contexts: Sequence[int] = ()
    # further prompt seeds on which the 16-bit baseline alone is measured again at every
    # calibrated and anchor length: how much the anchors move between prompt sets (their
    # spread widens every interval that leans on them)
    anchor_seeds: Sequence[int] = ()

    @property
    def name(self) -> str:
        return self.model_dir.resolve().name

    def spec(self) -> ArchSpec:
        cfg = json.loads((self.model_dir / "config.json").read_text())
        return spec_from_config(cfg, self.name)

    def kv_error(self) -> dict[str, float]:
        """The stored K/V error table, measured (one 16-bit prefill) when missing."""
        table = self.store.kv_error(self.name, self.device)
        if table:
            return table
        import torch

        from calibration.engine.loading import load_model
        from calibration.kv_error import measure_kv_error
        from calibration.measurement import probe_ids

        torch.set_num_threads(1)
        model = load_model(self.model_dir, self.device)
        ids = probe_ids(str(self.model_dir), self.tasks[0], max(max(self.contexts), 64), self.seed)
        table = measure_kv_error(model, ids)
        self.store.save_kv_error(self.name, self.device, table)
        return table

    def keys(self, cands: Sequence[Candidate]) -> list[RunKey]:
        return [RunKey(self.name, c.id, L, t, self.seed, self.n, self.device)
                for c, L in cands for t in self.tasks]

    def run(self, cands: Sequence[Candidate]) -> None:
        self.store.model_id(self.name, str(self.model_dir))
        sweep(self.store, self.executor, str(self.model_dir), self.keys(cands), self.on_result)

    def pool(self) -> list[Config]:
        return list(self.configs) if self.configs is not None else pool(self.spec())

    def anchors(self) -> None:
        """Measure the 16-bit baseline at every anchor context, and the peak memory of every
        configuration run so far at every memory context."""
        self.run([(BASELINE, L) for L in self.anchor_contexts])
        self.anchor_spread()
        if not self.memory_contexts:
            return
        done = sorted({k.config for k, _ in self.store.runs(self.name, None, self.device)
                       if k.seed == self.seed})
        keys = [RunKey(self.name, c, L, self.tasks[0], self.seed, 0, self.device)
                for c in done for L in self.memory_contexts]
        sweep(self.store, self.executor, str(self.model_dir), keys, self.on_result)

    def anchor_spread(self) -> None:
        """The 16-bit baseline on every `anchor_seeds` prompt seed (the calibration's own is
        `seed`) at every calibrated and anchor length: the anchors' spread between prompt sets."""
        lengths = sorted({*self.contexts, *self.anchor_contexts})
        for s in self.anchor_seeds:
            if s == self.seed:
                raise ValueError(f"anchor seed {s} is the calibration's own prompt seed")
            replace(self, seed=s).run([(BASELINE, L) for L in lengths])

    def weights_kl(self, ids: Sequence[str] | None = None) -> list[tuple[str, str, int, float]]:
        """What 4-bit weights alone do to the answers (KL vs the 16-bit weights, both with a
        16-bit cache), for the 4-bit weights `ids` (default: every one run so far; each needs
        its AWQ folder, hours on a real model), every task, at every calibrated and anchor
        length, on the runs' own prompts. Runs' `kl` is measured against their own weights; the
        accuracy model adds this to it. Returns what was measured now."""
        from calibration.weights_kl import WeightsProbe, stored_weights_kl

        if ids is None:
            ids = sorted({c.weights.id for c in (parse_config(k.config) for k, _ in
                          self.store.runs(self.name, "ok", self.device))
                          if c.weights.bits == 4})
        out = []
        for w in ids:
            for L in sorted({*self.contexts, *self.anchor_contexts}):
                for task in self.tasks:
                    probe = WeightsProbe(w, task, L, self.seed, self.n)
                    kl, new = stored_weights_kl(self.store, self.name, self.model_dir, probe,
                                                self.device)
                    if new:
                        out.append((w, task, L, kl))
        return out

    def memory_only(self, runs: int) -> list[Candidate]:
        """Peak memory alone (n = 0) of a space-filling sample of `runs` candidates of the pool
        at `contexts` (baselines first, every K/V pair and granularity present)."""
        cands = initial_design(self.pool(), self.contexts, runs, self.seed)[:runs]
        self.store.model_id(self.name, str(self.model_dir))
        keys = [RunKey(self.name, c.id, L, self.tasks[0], self.seed, 0, self.device)
                for c, L in cands]
        sweep(self.store, self.executor, str(self.model_dir), keys, self.on_result)
        return cands

    def awq_ids(self) -> list[str]:
        """Every 4-bit weights id this model admits (the service serves them all)."""
        from models.memory import compatible

        served = compatible(self.spec(), [Config(Weights(4, g)) for g in AWQ_GROUPS])
        return sorted({c.weights.id for c in served})

    def exhaustive(self) -> list[Candidate]:
        cands = exhaustive(self.pool(), self.contexts)
        self.run(cands)
        self.anchors()
        return cands

    def active(self, budget_runs: int, first_share: float = 0.4, rounds: int = 4) -> None:
        """Initial design, then `rounds` rounds of picks; stops at `budget_runs` runs."""
        per = len(self.tasks)
        budget = max(1, budget_runs // per)
        configs = self.pool()
        first = initial_design(configs, self.contexts, max(1, int(budget * first_share)), self.seed)
        first = first[:budget]
        self.run(first)
        table = self.kv_error()
        chosen = set(first)
        cands = exhaustive(configs, self.contexts)
        step = max(1, -(-(budget - len(chosen)) // rounds))
        while len(chosen) < budget:
            sampler = self._sampler(table)
            k = min(step, budget - len(chosen))
            picks = sampler.select([c for c in cands if c not in chosen], k)
            # no frontier gain left (e.g. a flat metric): spend the rest space-filling
            picks += fill(configs, self.contexts, [*chosen, *picks], k - len(picks))
            if not picks:
                break
            chosen.update(picks)
            self.run(picks)
        self.anchors()

    def _sampler(self, table: dict[str, float]) -> ActiveSampler:
        task = self.tasks[0]
        rows = [(k, m) for k, m in self.store.runs(self.name, "ok", self.device)
                if k.task == task and k.n == self.n and getattr(m, self.metric) is not None]
        try:  # memory of unmeasured candidates from the peaks measured so far
            coef = fit_memory(self.spec(), self.store.runs(self.name, "ok", self.device),
                              bound=False)
            coefficients = coef.to_fit("sweep").to_coefficients()
        except ValueError:
            coefficients = None
        kind = METRICS.get(self.metric, "accuracy")
        sampler = ActiveSampler(self.spec(), table, task, self.metric, coefficients, kind)
        return sampler.fit([parse_config(k.config) for k, _ in rows],
                           [k.context_tokens for k, _ in rows],
                           [float(getattr(m, self.metric) or 0) for _, m in rows])
