import keras
from keras import ops
import lossbridge


@lossbridge.loss
def log_cosh_like(y_pred, y_true):
    """Smooth L1-like loss written with keras.ops only."""
    xp = lossbridge.ops.namespace(y_pred, y_true)
    d = xp.abs(y_pred - y_true)
    return xp.mean(xp.where(d < 1.0, 0.5 * xp.square(d), d - 0.5), axis=-1)


# lossbridge port: the loss of the compile() below
criterion = lossbridge.to_torch_module(log_cosh_like)
model.compile(optimizer="adam", loss=log_cosh_like)
