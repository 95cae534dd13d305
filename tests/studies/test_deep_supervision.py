"""deep-supervision: Caffe's LeNet with and without the side classifier, checked by numbers."""

from study_checks import needs_fashion_mnist, run_quick

from deepgrad.studies import deep_supervision


def test_deep_supervision_quick_run(tmp_path):
    needs_fashion_mnist()
    result = run_quick("deep-supervision", tmp_path)
    n = result.numbers
    # over 3 seeds, the side loss (weight 1.0) gives conv1 a larger gradient, weights and biases
    assert len(n["conv1_ratio"]) == 3 and min(n["conv1_ratio"]) > 1.2
    assert min(n["conv1_bias_ratio"]) > 1.2
    # the layers above pool1 get (almost) the same gradient with and without it
    plain = n["plain LeNet"]["mean_abs_grad"][0]
    deep = n["deeply supervised, side weight 1.0"]["mean_abs_grad"][0]
    assert abs(deep["ip2"] / plain["ip2"] - 1) < 0.2
    assert len(n["plain LeNet"]["test_error"]) == 3


def test_bias_learning_rate_is_twice_the_weights():
    model, loss = deep_supervision.make(1.0, 0)
    groups = deep_supervision.optimizer_for(model).param_groups
    assert [g["lr"] for g in groups] == [0.01, 0.02]
    names = {id(p): name for name, p in model.named_parameters()}
    assert all(names[id(p)].endswith("bias") for p in groups[1]["params"])
    assert model.loss_weights == (1.0, 1.0)
