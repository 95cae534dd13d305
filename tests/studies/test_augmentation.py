"""augmentation: on a 500-image Fashion-MNIST slice, random crops and flips narrow the gap
between test and training loss on each of three seeds."""

from study_checks import needs_fashion_mnist, timed_quick


def test_augmentation_narrows_the_gap(tmp_path):
    needs_fashion_mnist()
    result = timed_quick("augmentation", tmp_path)
    n = result.numbers
    assert n["seeds"] == 3
    for plain, augmented in zip(n["loss_gap"]["plain"], n["loss_gap"]["augmented"]):
        assert augmented < plain
    for plain, augmented in zip(n["train_accuracy"]["plain"], n["train_accuracy"]["augmented"]):
        assert plain > 0.85 and plain > augmented   # the plain network fits its images best
    assert "Dataset augmentation" in result.summary()
