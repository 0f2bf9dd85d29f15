import torch.nn as nn

crit = nn.SmoothL1Loss()
loss = crit(pred, target)
