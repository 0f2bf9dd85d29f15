import torch.nn as nn

criterion = nn.BCELoss()
loss = criterion(torch.sigmoid(logits), y)
