"""tfgen.runs: the models' options, their recipes, and the data each model's contract asks for."""

import keras
import numpy as np
import pytest

from conftest import MODEL_NAMES, synthetic_dataset
from tfgen import runs
from tfgen.data import ClassSetDataset, SemiSupervisedDataset
from tfgen.models import MODELS, Recipe
from tfgen.evaluation.clustering import ClusterScoresCallback
from tfgen.plotting import FIGURES


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_constructor_options_are_exactly_the_configs_arguments(name):
    """The options the CLI offers are the model's configuration: none missing, none that the model fixes."""
    model_class = MODELS[name]
    config = model_class().get_config()
    options = runs.constructor_options(model_class)
    assert set(options) == set(config) - {"name", "trainable", "dtype"}
    for option, default in options.items():
        assert config[option] == (list(default) if isinstance(default, tuple) else default), option


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_declares_its_contract_figures_and_recipe(name):
    model_class = MODELS[name]
    assert isinstance(model_class.recipe, Recipe) and model_class.recipe.source
    assert set(model_class.figures) <= set(FIGURES) and set(model_class.final_figures) <= set(FIGURES)
    assert set(model_class.recipe.model) <= set(runs.constructor_options(model_class))
    model_class(**{key: value for key, value in model_class.recipe.model.items() if key != "num_examples"})


def test_reading_the_options_does_not_touch_the_random_state():
    def initial_weights():
        model = MODELS["vae"]()
        model.build_from_batch(model.zeros_batch())
        return [weight.numpy() for weight in model.weights]

    keras.utils.set_random_seed(0)
    expected = initial_weights()
    keras.utils.set_random_seed(0)
    for model_class in MODELS.values():
        runs.constructor_options(model_class)
    for want, got in zip(expected, initial_weights()):
        np.testing.assert_array_equal(got, want)


def test_the_data_follows_the_models_contract():
    train, test = synthetic_dataset(60, num_classes=3), synthetic_dataset(30, seed=1, num_classes=3)
    model, split, _ = runs.build_model_and_data(MODELS["ssvae"], train, test, {"latent_dim": 2}, batch_size=20,
                                                labels_per_class=2)
    assert isinstance(split, SemiSupervisedDataset) and split.num_labelled == 6 and split.labelled_per_batch == 2
    assert model.num_classes == 3  # from the data
    model, sets, test_sets = runs.build_model_and_data(MODELS["vhe"], train, test, {"set_size": 2, "hidden_units": 8},
                                                       batch_size=10)
    assert isinstance(sets, ClassSetDataset) and isinstance(test_sets, ClassSetDataset) and sets.set_size == 2
    options = {"set_size": 2, "num_clusters": 3, "hidden_units": 8}
    model, clusters, none = runs.build_model_and_data(MODELS["vhe_unsupervised"], train, test, options, batch_size=10)
    assert none is None and model.num_examples == 60
    # The sets' classes are read from the model's pseudo-labels whenever an epoch's batches are built.
    model.begin_epoch(0)  # what the trainer does before the first epoch: the clustering of the initial codes
    assert int(model.clustered_epoch.numpy()) == 0
    np.testing.assert_array_equal(clusters.class_labels, model.pseudo_labels.numpy())
    callbacks = runs.run_callbacks(model, clusters, None, plot_every=1, few_shot_data=test)
    assert isinstance(callbacks[0], ClusterScoresCallback)  # no re-clustering callback: the trainer runs the hook


def test_bad_run_options_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"'vae' takes no option \['latnt_dim'\]"):
        runs.train("vae", out=str(tmp_path / "run"), latnt_dim=3)
    with pytest.raises(ValueError, match="Unknown model 'pixelcnn'"):
        runs.train("pixelcnn", out=str(tmp_path / "run"))
    with pytest.raises(ValueError, match="Unknown dataset 'cifar100000'"):
        runs.train("vae", out=str(tmp_path / "run"), dataset="cifar100000")
    for learning_rate in (-1.0, 0):  # 0 is refused, not replaced by the recipe's rate
        with pytest.raises(ValueError, match="learning_rate must be a positive number"):
            runs.train("vae", out=str(tmp_path / "run"), learning_rate=learning_rate)
    with pytest.raises(ValueError, match="epochs must be a positive integer. Received: epochs=0"):
        runs.train("vae", out=str(tmp_path / "run"), epochs=0)
    assert not (tmp_path / "run").exists()


def test_the_manifest_names_the_image_shape_and_the_classes_of_the_training_data():
    from conftest import create_model
    from tfgen import export
    from tfgen.data import CLASS_NAMES
    from tfgen.training.facts import data_facts

    names = [f"class {index}" for index in range(20)]
    facts = data_facts(synthetic_dataset(8, num_classes=20))
    assert facts["image_shape"] == [28, 28, 1] and facts["num_classes"] == 20
    # What config.json records wins; runs written before it was recorded fall back to MNIST's / Fashion-MNIST's.
    assert export._class_names({"data": {"class_names": names}, "dataset": "mnist/train"}) == names
    assert export._class_names({"dataset": "fashion_mnist/train"}) == CLASS_NAMES["fashion_mnist"]
    assert export._class_names({"dataset": "my_images/train"}) is None
    model = create_model("cvae")  # 20 classes
    model.build_from_batch(model.zeros_batch(2))
    manifest = export._manifest(model, False, {"dataset": "x/train", "class_names": names})
    assert manifest["image_shape"] == [28, 28, 1] and manifest["class_names"] == names
    assert "class_names" not in manifest["training"]
    # Names that do not fit the model's classes are left out rather than mislabel the rows.
    assert "class_names" not in export._manifest(model, False, {"class_names": names[:10]})
