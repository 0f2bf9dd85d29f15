import torch
from torch import nn
import lossbridge
import numpy

model = nn.Sequential(nn.Linear(16, 3), nn.LogSoftmax(dim=1))
criterion = lossbridge.to_keras_loss(lossbridge.torch.NLLLoss(weight=numpy.array([0.20000000298023224, 1.0, 5.0], dtype='float32')))
loss = criterion(y, model(x))
