import torch
import torch.nn as nn
import lossbridge
import numpy

criterion = lossbridge.to_keras_loss(lossbridge.torch.CrossEntropyLoss(weight=numpy.array([1.0, 2.0, 0.5, 1.0], dtype='float32')))
loss = criterion(y, out)
