import torch
import torch.nn.functional as F
import lossbridge
import numpy

for x, y in loader:
    loss = lossbridge.to_keras_loss(lossbridge.torch.CrossEntropyLoss(weight=numpy.array([1.0, 3.0, 0.5], dtype='float32')))(y, model(x))
    loss.backward()
