"""The gated PixelCNN's masks: no output depends on its own position or a later one (raster order), and the
positions before it that the original PixelCNN's blind spot hid (up and to the right) do reach it.

Checked by gradients of each position's logits with respect to the one-hot input grid: a dependence is a
non-zero gradient. The zero gradients are exact zeros (no path in the graph), so the test asserts == 0.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfgen.networks.pixelcnn import GatedPixelCNN

SIDE = 5


def _dependence(network, inputs, labels=None):
    """(SIDE, SIDE, SIDE, SIDE) array: [i, j] is |d logits[:, i, j] / d grid| summed over the batch and codes."""
    grid = tf.constant(inputs)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(grid)
        logits = network(grid if labels is None else [grid, tf.constant(labels)])
        sums = {(i, j): tf.reduce_sum(logits[:, i, j]) for i in range(SIDE) for j in range(SIDE)}
    out = np.zeros((SIDE, SIDE, SIDE, SIDE))
    for (i, j), value in sums.items():
        out[i, j] = np.abs(tape.gradient(value, grid).numpy()).sum(axis=(0, 3))
    return out


@pytest.mark.parametrize("num_classes", [None, 3])
def test_each_position_sees_exactly_the_positions_before_it(num_classes):
    rng = np.random.default_rng(0)
    network = GatedPixelCNN(num_codes=4, filters=8, num_layers=3, kernel_size=3, output_filters=8,
                            num_classes=num_classes)
    grid = rng.normal(size=(2, SIDE, SIDE, 4)).astype(np.float32)
    labels = None if num_classes is None else np.eye(3, dtype=np.float32)[[0, 2]]
    dependence = _dependence(network, grid, labels)
    for i in range(SIDE):
        for j in range(SIDE):
            for a in range(SIDE):
                for b in range(SIDE):
                    if (a, b) >= (i, j):  # itself and every later position: no path at all
                        assert dependence[i, j, a, b] == 0.0, ((i, j), (a, b))
            # The neighbours before it, the up-right one included (the original PixelCNN's blind spot).
            for a, b in ((i, j - 1), (i - 1, j), (i - 1, j + 1), (i - 1, j - 1)):
                if 0 <= a < SIDE and 0 <= b < SIDE:
                    assert dependence[i, j, a, b] > 0.0, ((i, j), (a, b))
    # Deep enough, the whole past is seen: (4, 0) sees (3, 4), the far right of the row above.
    assert dependence[4, 0, 3, 4] > 0.0


def test_the_class_changes_the_logits_and_the_config_round_trips():
    network = GatedPixelCNN(num_codes=4, filters=8, num_layers=2, num_classes=3, output_filters=8)
    grid = np.eye(4, dtype=np.float32)[np.random.default_rng(1).integers(0, 4, size=(1, SIDE, SIDE))]
    first = network([grid, np.eye(3, dtype=np.float32)[[0]]]).numpy()
    second = network([grid, np.eye(3, dtype=np.float32)[[1]]]).numpy()
    assert first.shape == (1, SIDE, SIDE, 4) and np.abs(first - second).max() > 0
    clone = GatedPixelCNN.from_config(network.get_config())
    assert (clone.num_codes, clone.filters, clone.num_layers, clone.kernel_size, clone.num_classes) == (4, 8, 2, 3, 3)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        GatedPixelCNN(num_codes=4, kernel_size=4)
    with pytest.raises(ValueError, match=r"\[one-hot grid, one-hot labels\]"):
        network(grid)
