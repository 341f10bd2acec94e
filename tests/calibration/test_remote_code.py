"""A model folder's own Python code never runs: every load passes trust_remote_code=False and
reads safetensors only, so a config.json `auto_map` pointing at a module in the folder loads
the built-in class instead of importing that module (issue 18)."""

import json
import shutil

import pytest

from models.specs import TESTBED_DIR

# transformers imports a copy of the module from its modules cache: the marker's path is absolute
EVIL = """
from pathlib import Path
Path({marker!r}).write_text("remote code ran")
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
class EvilConfig(LlamaConfig):
    pass
class EvilModel(LlamaForCausalLM):
    config_class = EvilConfig
class EvilTokenizer(PreTrainedTokenizerFast):
    pass
"""


@pytest.fixture
def evil_model_dir(tmp_path):
    """The shipped testbed Llama whose config and tokenizer config point at evil.py."""
    folder = tmp_path / "evil-llama"
    shutil.copytree(TESTBED_DIR / "testbed-llama", folder)
    (folder / "evil.py").write_text(EVIL.format(marker=str(tmp_path / "MARKER")))
    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForCausalLM": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    tok_path = folder / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text())
    tok["auto_map"] = {"AutoTokenizer": [None, "evil.EvilTokenizer"]}
    tok_path.write_text(json.dumps(tok))
    return folder


def _no_marker(folder):
    assert not (folder.parent / "MARKER").exists(), "the folder's own code was imported"


def test_plain_load_and_tokenizer_ignore_the_folder_code(evil_model_dir):
    from calibration.engine.loading import load_model
    from calibration.measurement import probe_ids

    model = load_model(evil_model_dir)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert type(model).__module__.startswith("transformers.")
    ids = probe_ids(str(evil_model_dir), "passkey", 64, 0)
    assert ids.numel() > 0
    _no_marker(evil_model_dir)


def test_awq_quantize_and_packed_load_ignore_the_folder_code(evil_model_dir, tmp_path):
    from calibration.engine.awq import quantize_awq
    from calibration.engine.loading import load_model

    out = quantize_awq(evil_model_dir, tmp_path / "awq", [list(range(1, 33))] * 2, group=64)
    _no_marker(evil_model_dir)
    model = load_model(out)
    assert type(model).__module__.startswith("transformers.")
    _no_marker(evil_model_dir)
    assert not (out / "evil.py").exists()


def test_pickled_weights_are_not_loaded(evil_model_dir):
    from calibration.engine.loading import load_model

    (evil_model_dir / "model.safetensors").rename(evil_model_dir / "pytorch_model.bin")
    with pytest.raises(OSError, match=r"safetensors|model\.safetensors|no file named"):
        load_model(evil_model_dir)
