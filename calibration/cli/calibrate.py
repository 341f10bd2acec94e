"""`kvpareto calibrate`: run sampled configurations for real and record them in the store.

Torch is imported only once the options have been checked.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from calibration.cli.app import console
from calibration.cli.inputs import (
    ADDRESS,
    DB,
    EXECUTOR,
    WEIGHTS,
    context_lengths,
    device_name,
    executor_name,
    model_folder,
    open_store,
    pool_of,
)

MODES = ("active", "exhaustive", "anchors")


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def calibrate(
    model: Annotated[str, typer.Option(help="model folder, hub id or .gguf file")],
    contexts: Annotated[str, typer.Option(help="context lengths, e.g. 256,512")] = "256,512",
    tasks: Annotated[str, typer.Option(
        help="tasks, e.g. kv_retrieval,passkey; a harder variant takes integer settings, "
             "e.g. kv_uuid:n_pairs=20,needle_prose")] = "kv_retrieval",
    budget_runs: Annotated[int, typer.Option(help="most runs to make (active mode)")] = 200,
    mode: Annotated[str, typer.Option(
        help="active | exhaustive | anchors (only the 16-bit anchors, anchor seeds and memory "
             "contexts of the runs stored so far: how a stopped sweep is finished)")] = "active",
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    executor: EXECUTOR = "local",
    address: ADDRESS = None,
    n: Annotated[int, typer.Option(help="samples per run")] = 16,
    anchor_contexts: Annotated[str, typer.Option(
        help="16-bit baseline only at these longer lengths, e.g. 1024,2048")] = "",
    memory_contexts: Annotated[str, typer.Option(
        help="peak memory only of every configuration run, at these lengths, e.g. 384")] = "",
    seed: Annotated[int, typer.Option(help="prompt seed")] = 0,
    anchor_seeds: Annotated[str, typer.Option(
        help="16-bit baseline again on these prompt seeds at every length (its spread), e.g. "
             "1,2,3")] = "",
    weights: WEIGHTS = "",
    threads: Annotated[int, typer.Option(
        help="CPU threads for the accuracy passes (local executor; peaks are probed on one)")
    ] = 1,
    group: Annotated[int, typer.Option(
        help="configurations measured together, sharing one 16-bit prefill a prompt (local "
             "executor, 1..16): a group is stored when it finishes, so smaller groups lose "
             "less to a stopped sweep and reuse the prefill less")] = 16,
    db: DB = None,
) -> None:
    """Run sampled configurations for real and record every run in the results store."""
    from calibration.awq_cache import clean_stale
    from calibration.campaign import Campaign
    from calibration.executors import GROUP, make_executor
    from calibration.tasks import TASKS, parse_task, split_tasks

    task_list = split_tasks(tasks)
    if not task_list:
        raise ValueError(f"--tasks is empty; allowed: {', '.join(sorted(TASKS))}")
    for name in task_list:
        parse_task(name)  # an unknown name or setting is refused here, naming the allowed ones
    if mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}; got {mode!r}")
    if budget_runs <= 0 or n <= 0:
        raise ValueError("--budget-runs and --n must be positive")
    cores = os.cpu_count() or 1
    if not 1 <= threads <= cores:
        raise ValueError(f"--threads must be 1..{cores} (this machine's CPUs); got {threads}")
    model_dir, spec = model_folder(model)
    configs = pool_of(spec, weights)
    ctx = context_lengths(contexts, "contexts", spec)
    anchors = context_lengths(anchor_contexts, "anchor-contexts", spec) \
        if anchor_contexts.strip() else []
    mem_ctx = context_lengths(memory_contexts, "memory-contexts", spec) \
        if memory_contexts.strip() else []
    try:
        spread = [int(s) for s in anchor_seeds.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--anchor-seeds take integers, e.g. 1,2,3; got {anchor_seeds!r}"
                         ) from None
    if seed in spread or len(set(spread)) != len(spread):
        raise ValueError(f"--anchor-seeds must be distinct and differ from --seed {seed}; got "
                         f"{anchor_seeds!r}")
    device = device_name(device)
    executor = executor_name(executor)
    if executor != "local" and threads != 1:
        raise ValueError("--threads applies to the local executor; Ray runs one thread a worker")
    if not 1 <= group <= GROUP:
        raise ValueError(f"--group must be 1..{GROUP}; got {group}")
    store = open_store(db)
    ex = make_executor(executor, address, threads=threads, group=group)
    clean_stale()  # AWQ temp folders of quantizations killed before they finished
    with progress_bar() as progress:
        bar = progress.add_task(f"{model_dir.name} {mode}",
                                total=budget_runs if mode == "active" else None)
        failed = 0

        def on_result(key, m):  # type: ignore[no-untyped-def]
            nonlocal failed
            failed += m.status != "ok"
            progress.update(bar, advance=1, description=f"{key.config} L={key.context_tokens}"
                            f" {key.task} ({failed} failed)")

        camp = Campaign(store, ex, model_dir, ctx, task_list, n, seed, device, on_result,
                        anchor_contexts=anchors, memory_contexts=mem_ctx,
                        anchor_seeds=spread, configs=configs)
        try:
            camp.kv_error()
            if mode == "exhaustive":
                camp.exhaustive()
            elif mode == "anchors":
                camp.anchors()
            else:
                camp.active(budget_runs)
        finally:
            ex.close()
        if n > 0:  # AWQ's own KL, which the runs' KL (vs their own weights) leaves out
            for w, t, L, kl in camp.weights_kl():
                console.print(f"{w} weights alone: KL {kl:.4f} vs 16-bit ({t}, {L} tokens)")
    runs = store.runs(camp.name, None, device)
    console.print(f"{camp.name}: {len(runs)} runs stored "
                  f"({sum(m.status != 'ok' for _, m in runs)} failed) in {store.url}")
