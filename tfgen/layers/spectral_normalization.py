"""Spectral normalization of a layer's kernel (Miyato et al. 2018), as a Keras 3 wrapper.

Takeru Miyato, Toshiki Kataoka, Masanori Koyama and Yuichi Yoshida,
"Spectral Normalization for Generative Adversarial Networks", ICLR 2018,
arXiv:1802.05957.

Why not `keras.layers.SpectralNormalization` (Keras 3.15): in training mode
its call writes W / sigma(W) into the wrapped layer's trainable kernel and
runs the layer on that variable. So (1) the gradient is taken with respect
to the normalized kernel and applied to it, a projection after every step,
not Miyato et al.'s reparametrization, whose gradient flows through sigma(W)
(their gradient analysis); (2) a forward pass moves a trainable variable, which
`tfgen.models.base.GenerativeModel.apply_gradients_if_finite` cannot put
back when it skips a non-finite update (it restores the non-trainable
state, which the forward passes are allowed to move); (3) under a mixed
precision policy its power iteration reads the kernel autocast to 16 bits,
so every training call rounds the float32 kernel to bfloat16 or float16
(checked: after one call under "mixed_bfloat16" every kernel entry is a
bfloat16 value). This wrapper leaves the kernel alone: it computes
W / sigma(W) as a tensor and runs the wrapped layer with that tensor in
place of its kernel (`keras.StatelessScope`), and keeps only the power
iteration's vector u as state.
"""

import keras
from keras import ops

from tfgen import _checks

#: The floor of a norm that is divided by (a vector's, for its direction, and sigma): an all-zero kernel gives
#: a zero normalized kernel instead of 0 / 0.
_EPSILON = 1e-12


def _normalize(vector):
    return vector / (ops.sqrt(ops.sum(ops.square(vector))) + _EPSILON)


@keras.saving.register_keras_serializable(package="tfgen")
class SpectralNormalization(keras.layers.Wrapper):
    """Runs a layer with its kernel divided by the kernel's largest singular value (Miyato et al. 2018).

        W_SN = W / sigma(W),  sigma(W) = max_h ||h W|| / ||h||,

    for W the kernel as a (fan_in, units) matrix (a convolution's kernel
    (kh, kw, c_in, filters) as (kh * kw * c_in, filters), as Miyato et al. do:
    an estimate of the convolution's own spectral norm, not a bound). So the
    layer's linear map has spectral norm 1, and a network of such layers
    and 1-Lipschitz activations (ReLU, LeakyReLU) is 1-Lipschitz.

    sigma(W) is estimated by power iteration from a vector u (1, units),
    a non-trainable variable:

        v = normalize(u W^T),  u' = normalize(v W),  sigma = v W u'^T,

    `power_iterations` times, u' kept as the next call's start when the call
    is in training mode (one step per training call, as in the paper: u
    follows W as it trains). u and v are held constant in the gradient, which
    flows through sigma(W), as in Miyato et al.'s gradient analysis.

    Precision: the wrapper's own arithmetic (the power iteration, sigma and
    W / sigma) runs in its variables' dtype, float32, under any dtype policy
    (its `compute_dtype` is its `variable_dtype`, and it neither autocasts
    its inputs nor the kernel it reads); the wrapped layer computes as its
    own policy says (tfgen's mixed precision gives it the run's policy), and
    casts its inputs and the normalized kernel to it.

    A call in training mode writes u, in the forward pass, like batch norm's
    moving statistics: under a `tf.distribute` strategy each replica writes
    its own copy, with the same value (u' depends on W and u only, which are
    the same on every replica), and a skipped update puts u back with the
    model's other non-trainable state.

    Args:
        layer: a Keras layer with a `kernel` once built, whose call reads it
            through the `kernel` attribute (`Dense`, `Conv2D`, ...).
        power_iterations: the steps of power iteration per call.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: the wrapped layer's inputs.
        training: update u (True), or only read it.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        # No autocast: inside a layer that computes in 16 bits, Keras would otherwise read the kernel cast to 16
        # bits here (the wrapped layer still casts its inputs and the normalized kernel to its own compute dtype).
        kwargs.pop("autocast", None)
        super().__init__(layer, autocast=False, **kwargs)
        self.power_iterations = _checks.positive_int("power_iterations", power_iterations)

    @property
    def compute_dtype(self):
        """The variables' dtype under any policy: called on its own under a mixed policy, Keras would otherwise
        enter an autocast scope of the policy's 16-bit dtype for the call, and read the kernel in it."""
        return self.variable_dtype

    def build(self, input_shape=None):
        super().build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if not isinstance(kernel, keras.Variable):
            raise ValueError(f"SpectralNormalization wraps a layer with a kernel (Dense, Conv2D, ...). Received: "
                             f"layer={type(self.layer).__name__} ({self.layer.name!r}), which has none once built.")
        self.vector_u = self.add_weight(shape=(1, kernel.shape[-1]), initializer="random_normal", trainable=False,
                                        autocast=False, dtype=kernel.dtype, name="vector_u")
        self.built = True

    def spectral_norm(self):
        """(sigma(W), the next u): `power_iterations` steps from the stored u; nothing is written."""
        kernel = self.layer.kernel
        matrix = ops.reshape(kernel, (-1, kernel.shape[-1]))
        vector_u = ops.convert_to_tensor(self.vector_u)
        for _ in range(self.power_iterations):
            vector_v = _normalize(ops.matmul(vector_u, ops.transpose(matrix)))
            vector_u = _normalize(ops.matmul(vector_v, matrix))
        vector_u, vector_v = ops.stop_gradient(vector_u), ops.stop_gradient(vector_v)
        sigma = ops.sum(ops.matmul(vector_v, matrix) * vector_u)
        return sigma, vector_u

    def normalized_kernel(self, training=False):
        """W / sigma(W), a tensor (the kernel variable is never written); in training mode u is updated."""
        sigma, vector_u = self.spectral_norm()
        if training:
            self.vector_u.assign(vector_u)
        return self.layer.kernel / ops.maximum(sigma, _EPSILON)

    def call(self, inputs, training=False):
        kernel = self.normalized_kernel(training=training)
        # The wrapped layer reads `kernel` where it reads its variable; nothing else of it changes.
        with keras.StatelessScope(state_mapping=[(self.layer.kernel, kernel)], initialize_variables=False):
            return self.layer(inputs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
