import torch.nn as nn
import torch.nn.functional as F
import lossbridge

criterion = lossbridge.to_keras_loss(lossbridge.torch.NLLLoss())
loss = criterion(y, F.log_softmax(out, dim=1))
