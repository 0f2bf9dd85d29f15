import torch.nn as nn
import keras

losses = {}
for name in ["mse", "l1"]:
    losses[name] = nn.MSELoss() if name == "mse" else nn.L1Loss()
crit = keras.losses.MeanAbsoluteError()
loss = crit(target, pred)
