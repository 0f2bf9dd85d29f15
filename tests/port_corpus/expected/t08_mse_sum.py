import torch.nn as nn
import lossbridge

criterion = lossbridge.to_keras_loss(lossbridge.torch.MSELoss(reduction='sum'))
loss = criterion(target, pred)
