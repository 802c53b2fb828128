"""The layers that stay in float32 when a model trains in mixed precision.

Under a mixed policy ("mixed_float16", "mixed_bfloat16"; see
`tfgen.training.precision`) every layer of a model computes in 16 bits
except those marked here: the output layers of the networks (logits,
means and log-variances, likelihood parameters, the generator's images) and
the sampling layers (Gaussian reparameterization, Gumbel-softmax). So every
tensor that reaches a loss, a log-density, a KL term, a log-sum-exp or an
MMD kernel is float32, as Keras' mixed precision guide advises for a
model's outputs. In float32 (the default) marking a layer changes nothing.
"""

#: The attribute that marks a layer (and every layer inside it) as float32 under any policy.
KEEPS_FLOAT32 = "keeps_float32"


def float32_layer(layer):
    """Marks `layer` to compute in float32 under any mixed precision policy; returns it.

    For the layers whose outputs leave a network for the losses. A layer
    that builds sub-layers of its own keeps them in float32 too.
    """
    layer.dtype_policy = "float32"
    setattr(layer, KEEPS_FLOAT32, True)
    return layer


def keeps_float32(layer):
    """True when `layer` was marked by `float32_layer` (or its class sets `keeps_float32 = True`)."""
    return bool(getattr(layer, KEEPS_FLOAT32, False))
