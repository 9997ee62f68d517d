"""Which DLMC matrices the tuning scripts pick (scripts/tune_spmm.py's selection, which
scripts/tune_sddmm.py shares), on a small DLMC-like folder: header-only files are enough; and
their usage on missing arguments."""
import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import tune_spmm  # noqa: E402

# (suite, level, name, m, k)
FILES = [("transformer", "0.9", "a_ffn2", 512, 2048), ("transformer", "0.9", "b_ffn2", 512, 2048),
         ("transformer", "0.9", "c_attn", 512, 512), ("transformer", "0.98", "a_ffn2", 512, 2048),
         ("rn50", "0.9", "a", 64, 256), ("rn50", "0.9", "b", 64, 256), ("rn50", "0.9", "c", 64, 256),
         ("rn50", "0.9", "d", 256, 1024), ("rn50", "0.9", "e", 512, 4608),
         ("rn50", "0.98", "a", 256, 1024)]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("dlmc")
    for suite, level, name, m, k in FILES:
        folder = root / suite / "magnitude_pruning" / level
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.smtx").write_text(f"{m}, {k}, 1\n")
    return root


def chosen(root, *argv):
    return [(p.parts[-4], p.parts[-2], p.name.split(".")[0])
            for p in tune_spmm.chosen_matrices(root, list(argv))]


def test_one_matrix_a_transformer_shape_and_two_of_all_resnet_shapes(root):
    assert chosen(root) == [("rn50", "0.9", "a"), ("rn50", "0.9", "b"), ("rn50", "0.98", "a"),
                            ("transformer", "0.9", "c_attn"), ("transformer", "0.9", "a_ffn2"),
                            ("transformer", "0.98", "a_ffn2")]


def test_each_shape_min_k_suite_and_levels(root):
    assert chosen(root, "--suite", "rn50", "--each-shape", "--min-k", "1024") == [
        ("rn50", "0.9", "d"), ("rn50", "0.9", "e"), ("rn50", "0.98", "a")]
    assert chosen(root, "--levels", "0.9", "--max-k", "1024", "--per-level", "2") == [
        ("rn50", "0.9", "a"), ("rn50", "0.9", "b"), ("rn50", "0.9", "c"), ("rn50", "0.9", "d"),
        ("transformer", "0.9", "c_attn")]


@pytest.mark.parametrize("script, argv", [
    ("tune_spmm", []), ("tune_spmm", ["dlmc", "--suite", "rn50"]), ("tune_sddmm", ["dlmc"]),
    ("tune_attention", ["--length", "64"])])
def test_missing_arguments_print_the_usage(capsys, script, argv):
    module = importlib.import_module(script)
    assert module.main(argv) == 2
    assert f"Usage: {script}.py " in capsys.readouterr().err
