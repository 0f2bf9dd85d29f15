import torch.nn as nn

losses = {}
for name in ["mse", "l1"]:
    losses[name] = nn.MSELoss() if name == "mse" else nn.L1Loss()
crit = nn.L1Loss()
loss = crit(pred, target)
