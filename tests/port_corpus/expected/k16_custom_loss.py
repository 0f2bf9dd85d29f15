import keras
from keras import ops
import lossbridge


@lossbridge.loss
def rmse(y_pred, y_true):
    xp = lossbridge.ops.namespace(y_pred, y_true)
    return xp.sqrt(xp.mean(xp.square(y_pred - y_true), axis=-1))


# lossbridge port: the loss of the compile() below
criterion = lossbridge.to_torch_module(rmse)
model.compile(optimizer="adam", loss=rmse)
