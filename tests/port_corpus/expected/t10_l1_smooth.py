import torch.nn as nn
import lossbridge

crit = lossbridge.to_keras_loss(lossbridge.torch.SmoothL1Loss())
loss = crit(target, pred)
