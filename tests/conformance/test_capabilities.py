"""Every registered model: what it declares about itself (`tfgen.models.GenerativeModel`'s class attributes) is
what it does, and it samples through the one API.

The rest of tfgen reads these declarations instead of probing models: `tfgen evaluate` its `scores` and
`likelihood_kind`, plotting and the sample scores `conditional` and `latent_codes`, an export's
`ExportScorer` all of them. A declaration that does not hold would send a model down a path it cannot take
(or hide one it can), so each is checked here against the model's methods, its serving signatures and
what they return. An export's scorer must declare what its model declares (the exports of
test_saved_model.py, made in the image-shapes child).
"""

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, create_model, shared_built_model
from conformance.descriptors import MODEL_KWARGS, NON_DEFAULT_KWARGS
from conformance.support import started_child
from tfgen.models import MODELS
from tfgen.models.base import LIKELIHOOD_KINDS, SCORES

#: The serving signature that gives each likelihood kind's log-weights.
LIKELIHOOD_SIGNATURES = {kind: "log_importance_weights" for kind in LIKELIHOOD_KINDS}
LIKELIHOOD_SIGNATURES["marginal_vhe"] = "marginal_log_importance_weights"
SEED = tf.constant([3, 4], tf.int64)


def test_every_registered_model_has_a_descriptor():
    """A model joins every conformance property with its descriptor (docs/adding-a-model.md)."""
    assert sorted(MODEL_KWARGS) == sorted(MODELS)
    assert sorted(NON_DEFAULT_KWARGS) == sorted(MODELS)


def _signature_inputs(model, name):
    return [spec.name for spec in model.serving_endpoints()[name][1]]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_declarations_are_readable_from_the_class_and_well_formed(name):
    cls = MODELS[name]
    assert cls.registered_name == name
    assert cls.likelihood_kind is None or cls.likelihood_kind in LIKELIHOOD_KINDS
    assert set(cls.scores) <= set(SCORES) and len(set(cls.scores)) == len(cls.scores) and cls.scores, cls.scores
    assert list(cls.scores) == [section for section in SCORES if section in cls.scores], "scores out of report order"
    for flag in ("conditional", "classifies", "latent_codes", "requires_labels", "semi_supervised", "class_sets"):
        assert isinstance(getattr(cls, flag), bool), flag
    # The sections that follow from another declaration say the same as it.
    assert ("likelihood" in cls.scores) == (cls.likelihood_kind is not None)
    assert ("classification_error" in cls.scores) == cls.classifies
    if cls.conditional:
        assert cls.requires_labels, "a conditional model trains on labels"
    # `tfgen export --set` rebuilds the model from its config with these changed: each is in the config.
    config = create_model(name).get_config()
    assert isinstance(cls.sampling_options, tuple) and set(cls.sampling_options) <= set(config), cls.sampling_options


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_the_likelihood_declared_is_computed_and_served(name):
    model, batch = shared_built_model(name)
    kind = model.likelihood_kind
    endpoints = model.serving_endpoints()
    if kind is None:
        assert not hasattr(model, "log_importance_weights"), "log-weights that no score reads: declare them"
        assert not {"log_importance_weights", "marginal_log_importance_weights"} & set(endpoints)
        return
    assert LIKELIHOOD_SIGNATURES[kind] in endpoints
    images = batch["image"][:2]
    seeds = tf.constant([1, 2], tf.int64)
    if kind in ("conditional", "semi_supervised"):
        assert "label" in _signature_inputs(model, "log_importance_weights")
        log_weights = model.log_importance_weights(images, seeds, 3, batch["label"][:2])
    elif kind == "class_set":
        assert "class_set" in _signature_inputs(model, "log_importance_weights")
        log_weights = model.log_importance_weights(images, seeds, 3, class_set=tf.stack([images, images], axis=1))
    else:
        assert _signature_inputs(model, LIKELIHOOD_SIGNATURES[kind]) == ["images", "seed", "num_samples"]
        log_weights = model.log_importance_weights(images, seeds, 3)
    assert log_weights.shape == (2, 3) and np.all(np.isfinite(log_weights.numpy()))
    # 8-bit likelihoods report bits per dimension: the decoder's likelihood is declared where there is one.
    assert model.decoder_likelihood is None or isinstance(model.decoder_likelihood.eight_bit, bool)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_classifiers_codes_and_encoders_are_what_is_declared(name):
    model, batch = shared_built_model(name)
    endpoints = model.serving_endpoints()
    images = batch["image"][:3]
    assert model.classifies == hasattr(model, "classify") == ("classify" in endpoints)
    if model.classifies:
        assert model.classify(images).shape == (3, model.num_classes)
    assert model.latent_codes == hasattr(model, "predict_codes")
    if model.latent_codes:
        logits, mean, _ = model.predict_codes(images)
        assert logits.shape == (3, model.num_categories) and mean.shape == (3, model.num_continuous)
    if "mmd" in model.scores:  # a deterministic encoder to codes, and reconstructions
        codes = model.encode(images)
        np.testing.assert_array_equal(codes.numpy(), model.encode(images).numpy())
        assert codes.shape == (3, model.latent_dim)
        assert model.reconstruct(images).shape == images.shape
        assert {"encode", "reconstruct"} <= set(endpoints)
    assert "sample" in endpoints, "every model serves its samples"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_conditional_models_sample_the_classes_asked_and_the_others_refuse_labels(name):
    model, _ = shared_built_model(name)
    inputs = _signature_inputs(model, "sample")
    if not model.conditional:
        assert inputs == ["seed"] and model.num_classes is None
        with pytest.raises(ValueError, match="unconditional: its samples take no labels"):
            model.sample(2, labels=[0, 1], seed=SEED)
        with pytest.raises(ValueError, match="unconditional: its samples take no labels"):
            model.sample_from_seeds([1, 2], labels=[0, 1])
        return
    assert inputs == ["seed", "label"] and model.num_classes >= 2
    threes = model.sample(4, labels=3, seed=SEED).numpy()
    np.testing.assert_array_equal(threes, model.sample(4, labels=[3, 3, 3, 3], seed=SEED).numpy())
    assert not np.allclose(threes, model.sample(4, labels=1, seed=SEED).numpy(), atol=1e-4), "labels ignored"
    # Without labels: the classes in turn (tfgen.labels.sample_class_ids), in sample and sample_from_seeds.
    cycle = np.arange(5) % model.num_classes
    np.testing.assert_array_equal(model.sample(5, seed=SEED).numpy(), model.sample(5, labels=cycle, seed=SEED).numpy())
    np.testing.assert_array_equal(model.sample_from_seeds([4, 5, 6, 7, 8]).numpy(),
                                  model.sample_from_seeds([4, 5, 6, 7, 8], labels=cycle).numpy())
    with pytest.raises(ValueError, match=r"class id in \[0, "):
        model.sample_from_seeds([1, 2], labels=[0, model.num_classes])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_way_to_sample(name):
    model, _ = shared_built_model(name)
    images = model.sample(3, seed=SEED).numpy()
    assert images.shape == (3, *model.image_shape) and images.min() >= 0.0 and images.max() <= 1.0
    # The deprecated positional seed draws the same images, with a warning.
    with pytest.warns(DeprecationWarning, match="positional"):
        np.testing.assert_array_equal(model.sample(3, SEED).numpy(), images)
    with pytest.raises(TypeError, match="positional"):
        model.sample(3, SEED, None, None)
    # One image per seed: exactly the sample signature's function, compiled as the export compiles it.
    seeds = np.array([11, 12, 13], np.int64)
    drawn = model.sample_from_seeds(seeds).numpy()
    function, signature = model.serving_endpoints()["sample"]
    inputs = [tf.constant(seeds)] + ([tf.constant(np.arange(3) % model.num_classes)] if model.conditional else [])
    served = tf.function(function, input_signature=signature, autograph=False)(*inputs)["images"].numpy()
    np.testing.assert_array_equal(drawn, served)
    assert drawn.shape == (3, *model.image_shape) and drawn.min() >= 0.0 and drawn.max() <= 1.0
    # Row i is seed i's (and label i's) whatever else is drawn: as the export (test_saved_model.py's _ROW_ATOL:
    # kernels block their sums by batch size).
    labels = np.arange(3) % model.num_classes if model.conditional else None
    alone = model.sample_from_seeds(seeds[1:], None if labels is None else labels[1:]).numpy()
    np.testing.assert_allclose(alone, drawn[1:], rtol=0, atol=model.sample_row_atol)
    for bad in ([], [1.5, 2.5], "seeds"):
        with pytest.raises(ValueError, match="seeds"):
            model.sample_from_seeds(bad)


@pytest.mark.background
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_an_export_declares_what_its_model_declares(name):
    """The export of test_saved_model.py (made in the image-shapes child), read as `tfgen evaluate` reads it."""
    from tfgen.report import ExportScorer

    entry = started_child("image_shapes").report().get(name, {}).get("export")
    if not isinstance(entry, dict):
        pytest.fail(f"{name}: no export from the image-shapes child (is test_saved_model.py selected?):\n{entry}")
    scorer = ExportScorer(entry["export_dir"])
    model, _ = shared_built_model(name)
    for declaration in ("registered_name", "conditional", "likelihood_kind", "classifies", "scores", "requires_labels",
                        "semi_supervised", "class_sets", "label_format", "recipe", "num_classes", "binarization"):
        assert getattr(scorer, declaration) == getattr(model, declaration), declaration
    assert scorer.latent_codes is False  # no export serves predict_codes
    assert (scorer.decoder_likelihood is None) == (model.decoder_likelihood is None)
    assert scorer.image_shape == tuple(model.image_shape)
    labels = [0, 1] if scorer.conditional else None
    assert np.asarray(scorer.sample_from_seeds([1, 2], labels)).shape == (2, *model.image_shape)
