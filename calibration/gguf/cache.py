"""`--model FILE.gguf`: the file converted once into a cache folder keyed by its sha256
(`<model_cache>/<sha256[:16]>/<file stem>`), reused while its provenance matches."""

from __future__ import annotations

from pathlib import Path

from calibration.gguf import provenance
from calibration.gguf.convert import Say, _quiet, import_gguf
from calibration.gguf.source import read_source, sha256_file


def cached_folder(gguf_file: Path, root: Path | None = None, say: Say = _quiet) -> Path:
    """The converted folder of `gguf_file` under `root` (default: settings' model_cache)."""
    from calibration.settings import CalibrationSettings

    gguf_file = Path(gguf_file)
    read_source(gguf_file)  # refuse before hashing what cannot be converted
    sha = sha256_file(gguf_file)
    folder = Path(root or CalibrationSettings().model_cache) / sha[:16] / gguf_file.stem
    prov = provenance.read(folder)
    if prov is not None and prov.source_sha256 == sha:
        return folder
    say(f"converting {gguf_file.name} into {folder} (once)")
    import_gguf(gguf_file, folder, overwrite=True, say=say)
    return folder
