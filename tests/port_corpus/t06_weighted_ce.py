import torch
import torch.nn as nn

criterion = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5, 1.0]))
loss = criterion(out, y)
