import torch
from torch import nn

model = nn.Sequential(nn.Linear(16, 3), nn.LogSoftmax(dim=1))
criterion = nn.NLLLoss(weight=torch.tensor([0.2, 1.0, 5.0]))
loss = criterion(model(x), y)
