import torch.nn as nn
import torch.nn.functional as F

criterion = nn.NLLLoss()
loss = criterion(F.log_softmax(out, dim=1), y)
