"""`kvpareto probe`: peak memory alone of a sample of configurations, under one attention.

What a runtime profile's memory fit is made from (`kvpareto fit --memory-db`): eager attention
holds a score matrix per head that SDPA never makes, so its peaks are their own measurements.
Run keys do not name the attention, so one store holds one attention per model.
"""

from __future__ import annotations

import functools
from typing import Annotated

import typer

from calibration.cli.app import console
from calibration.cli.calibrate import progress_bar
from calibration.cli.inputs import (
    DB,
    WEIGHTS,
    context_lengths,
    device_name,
    model_folder,
    open_store,
    pool_of,
)
from calibration.runtime import ATTENTIONS


def probe(
    model: Annotated[str, typer.Option(help="model folder, hub id or .gguf file")],
    contexts: Annotated[str, typer.Option(help="context lengths, e.g. 256,512,1024")] = "256,512",
    runs: Annotated[int, typer.Option(help="configuration × context pairs to probe")] = 120,
    attention: Annotated[str, typer.Option(help="sdpa | eager")] = "eager",
    task: Annotated[str, typer.Option(help="task whose first prompt is prefilled")] =
    "kv_retrieval",
    weights: WEIGHTS = "",
    device: Annotated[str, typer.Option(help="cpu | cuda")] = "cpu",
    seed: Annotated[int, typer.Option(help="sample and prompt seed")] = 0,
    db: DB = None,
) -> None:
    """Peak memory only (no accuracy) of a space-filling sample of the configuration pool at
    each context, with the model loaded under one attention implementation."""
    from calibration.campaign import Campaign
    from calibration.executors import LocalExecutor
    from calibration.runner import measure_real
    from calibration.tasks import parse_task

    if attention not in ATTENTIONS:
        raise ValueError(f"--attention must be one of {', '.join(ATTENTIONS)}; got {attention!r}")
    parse_task(task)  # an unknown name or setting is refused, naming the allowed ones
    if runs <= 0:
        raise ValueError(f"--runs must be a positive integer; got {runs}")
    model_dir, spec = model_folder(model)
    ctx = context_lengths(contexts, "contexts", spec)
    configs = pool_of(spec, weights)
    device = device_name(device)
    store = open_store(db)
    name = model_dir.name
    held = {str(m.versions.get("attention", "sdpa")) for _, m in store.runs(name, None, device)}
    if held - {attention}:
        raise ValueError(f"{store.url} already holds runs of {name} under "
                         f"{', '.join(sorted(held))} attention; probe {attention} into another "
                         "--db (run keys do not name the attention)")
    measure = functools.partial(measure_real, attention=attention)
    with progress_bar() as progress:
        bar = progress.add_task(f"{name} {attention}", total=runs)

        def on_result(key, m):  # type: ignore[no-untyped-def]
            progress.update(bar, advance=1, description=f"{key.config} L={key.context_tokens}")

        camp = Campaign(store, LocalExecutor(measure), model_dir, ctx, [task], 0, seed, device,
                        on_result, configs=configs)
        camp.memory_only(runs)
    done = [m for _, m in store.runs(name, None, device)]
    console.print(f"{name}: {len(done)} memory probes under {attention} attention stored "
                  f"({sum(m.status != 'ok' for m in done)} failed) in {store.url}")
