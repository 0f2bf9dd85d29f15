import torch.nn as nn
import lossbridge

criterion = lossbridge.to_keras_loss(lossbridge.torch.BCELoss())
loss = criterion(y, torch.sigmoid(logits))
