"""info, eval, predict (arrays and a PNG), export (onnxruntime parity), gradcheck, diagnose,
study: each prints the expected numbers."""

import re

import numpy as np
import pytest

from deepgrad.config import model_from_checkpoint
from deepgrad.training import predict

from cli_helpers import example


def _model(run_dir, which="best"):
    model, checkpoint = model_from_checkpoint(str(run_dir / "checkpoints" /
                                                  f"{which}.safetensors"))
    model.eval()
    return model, checkpoint


def test_info_shows_layers_parameter_counts_and_summary(cli, spirals_run):
    code, out, _ = cli("info", spirals_run)
    assert code == 0
    _, checkpoint = _model(spirals_run)
    # spirals.yaml: Linear(2, 64), Tanh, Dropout, Linear(64, 64), Tanh, Dropout, Linear(64, 3)
    # (Module.summary: layer, output shape, parameters, trainable)
    assert re.search(r"^0 \(Linear\)\s+\(1, 64\)\s+192\s+yes$", out, re.M)
    assert re.search(r"^3 \(Linear\)\s+\(1, 64\)\s+4,160\s+yes$", out, re.M)
    assert re.search(r"^6 \(Linear\)\s+\(1, 3\)\s+195\s+yes$", out, re.M)
    assert re.search(r"^2 \(Dropout\)\s+\(1, 64\)\s+0\s+-$", out, re.M)
    assert "Total params: 4,547" in out and "Trainable params: 4,547" in out
    best = checkpoint.metadata["best"]
    assert f"best val_accuracy: {best['value']:.4f} at epoch {best['epoch']}" in out
    assert f"epochs: {checkpoint.epoch} of 4" in out
    assert "data: spirals (train 210, validation 45, test 45)" in out
    assert "optimizer: Adam lr=0.01" in out
    assert "training time:" in out
    stopper = checkpoint.metadata["callbacks"][0]["state"]
    assert (f"callback EarlyStopping: wait {stopper['wait']}, best {stopper['best']:.4g}, "
            f"best_epoch {stopper['best_epoch']}, stopped_epoch -1") in out
    assert "\ncallback TensorBoard\n" in out


def test_eval_matches_the_trainer_on_each_split(cli, spirals_run):
    from deepgrad.runner import Run

    model, checkpoint = _model(spirals_run)
    run = Run.from_config(checkpoint.config)
    run.model.load_state_dict(model.state_dict())
    for split in ("test", "validation"):
        expected = run.evaluate(split)
        code, out, _ = cli("eval", spirals_run, "--split", split)
        assert code == 0
        assert f"{split} split, 45 samples" in out
        assert f"loss: {expected['loss']:.4f}" in out
        assert f"accuracy: {expected['accuracy']:.4f} ({100 * expected['accuracy']:.2f}%)" in out


def test_eval_on_a_file(cli, spirals_run, tmp_path):
    model, _ = _model(spirals_run)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (20, 2)).astype(np.float32)
    logits = predict(model, x)
    y = logits.argmax(1)
    y[:5] = (y[:5] + 1) % 3                 # 15 of 20 right
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    code, out, _ = cli("eval", spirals_run, "--data", tmp_path / "mine.npz")
    assert code == 0
    assert "20 samples" in out and "accuracy: 0.7500 (75.00%)" in out


def test_predict_npy_prints_top_k_softmax(cli, spirals_run, tmp_path):
    model, _ = _model(spirals_run)
    x = np.array([[0.1, 0.2], [-0.5, 0.3], [0.4, -0.6]], dtype=np.float32)
    np.save(tmp_path / "points.npy", x)
    code, out, _ = cli("predict", spirals_run, tmp_path / "points.npy", "--top-k", "2")
    assert code == 0
    logits = predict(model, x).astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    lines = out.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"points.npy[{i}]: ")
        found = [(int(c), float(p)) for c, p in re.findall(r"class (\d) ([\d.]+)%", line)]
        top = np.argsort(-probs[i])[:2]
        assert [c for c, _ in found] == list(top)
        np.testing.assert_allclose([p for _, p in found], 100 * probs[i][top], atol=0.051)


def test_predict_png_image_like_the_array(cli, fashion_run, tmp_path):
    import matplotlib.image as mpimg

    from deepgrad.data import FASHION_MNIST_CLASSES, load_fashion_mnist

    images, labels = load_fashion_mnist("test")
    image = images[0, 0]                                    # (28, 28) in [0, 1]
    mpimg.imsave(tmp_path / "item.png", image, cmap="gray", vmin=0.0, vmax=1.0)
    big = np.kron(image, np.ones((2, 2)))                   # 56 x 56: resized back to 28
    mpimg.imsave(tmp_path / "big.png", big, cmap="gray", vmin=0.0, vmax=1.0)
    np.save(tmp_path / "item.npy", image)
    code, out, err = cli("predict", fashion_run, tmp_path / "item.npy",
                         tmp_path / "item.png", tmp_path / "big.png", "--top-k", "3")
    assert code == 0, err
    rows = {}
    for line in out.strip().splitlines():
        name, ranked = line.split(": ", 1)
        rows[name] = re.findall(r"(\S[^()%]*?) \((\d)\) ([\d.]+)%", ranked)
    array_row = rows["item.npy[0]"]
    assert len(array_row) == 3
    assert all(cls.strip() == FASHION_MNIST_CLASSES[int(k)] for cls, k, _ in array_row)
    # 8-bit PNG quantization moves probabilities only slightly; the ranking stays
    for name in ("item.png", "big.png"):
        assert [k for _, k, _ in rows[name]] == [k for _, k, _ in array_row]
        np.testing.assert_allclose([float(p) for _, _, p in rows[name]],
                                   [float(p) for _, _, p in array_row], atol=1.0)


def test_export_onnx_matches_onnxruntime(cli, fashion_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "mlp.onnx"
    code, out, _ = cli("export", fashion_run, "--onnx", path)
    assert code == 0 and f"wrote {path}" in out and "('N', 784)" in out
    model, _ = _model(fashion_run)
    x = np.random.default_rng(1).standard_normal((4, 784)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (onnx_out,) = session.run(None, {"input": x})
    np.testing.assert_allclose(onnx_out, predict(model, x), rtol=1e-4, atol=1e-5)


def test_gradcheck_prints_the_audit_table(cli):
    code, out, _ = cli("gradcheck", example("spirals.yaml"), "--batch-size", "3",
                       "--set", "data.n=60")
    assert code == 0
    assert "batch of 3 samples from spirals" in out
    rows = [line for line in out.splitlines() if re.match(r"^\d\.(weight|bias)\s", line)]
    assert [r.split()[0] for r in rows] == ["0.weight", "0.bias", "3.weight", "3.bias",
                                            "6.weight", "6.bias"]
    for row in rows:
        jvp_error = float(row.split()[3])
        assert jvp_error < 1e-12 and row.split()[6] == "good"
    assert re.search(r"^verdict: good: .*6 good, 0 suspicious, 0 wrong", out, re.M)
    assert "dropout disabled" in out


def test_gradcheck_of_deep_supervision_and_lenet(cli):
    from cli_helpers import have_fashion_mnist

    if not have_fashion_mnist():
        pytest.skip("Fashion-MNIST files not installed")
    code, out, _ = cli("gradcheck", example("lenet_deeply_supervised.yaml"), "--batch-size",
                       "2", "--directions", "1", "--entries", "2", "--set",
                       "data.limit.train=8")
    assert code == 0, out
    assert "aux.weight" in out and "conv1.weight" in out
    assert re.search(r"^verdict: good: .*10 good, 0 suspicious, 0 wrong", out, re.M)


def test_diagnose_prints_the_doctor_report(cli):
    code, out, _ = cli("diagnose", example("regression_1d.yaml"), "--batch-size", "50",
                       "--set", "data.n=100")
    assert code == 0
    assert "batch of 50 samples from regression" in out
    match = re.search(r"deepgrad doctor: loss ([\d.e+-]+), 2 layers recorded", out)
    assert match and float(match.group(1)) > 0
    assert re.search(r"^1\s+tanh\s", out, re.M) and re.search(r"^3\s+tanh\s", out, re.M)


def test_study_autodiff_quick(cli, tmp_path):
    pytest.importorskip("deepgrad.studies.autodiff")
    code, out, err = cli("study", "autodiff", "--quick", "--out", tmp_path / "study")
    assert code == 0, err
    assert f"summary: {tmp_path / 'study' / 'summary.md'}" in out
    assert (tmp_path / "study" / "summary.md").exists()
    # the course's function ln(x1) + x1 x2 - sin(x2) at (2, 5): y = 11.652...
    assert "11.65" in out


def test_study_list(cli):
    code, out, _ = cli("study", "list")
    assert code == 0
    assert re.search(r"^autodiff\s+forward and reverse evaluation traces", out, re.M)
    assert re.search(r"^init\s", out, re.M)
