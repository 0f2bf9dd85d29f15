from torch import nn
import keras

mse = keras.losses.MeanSquaredError()
loss = mse(y, model(x))
