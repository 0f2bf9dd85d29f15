import torch.nn as nn

criterion = nn.MSELoss(reduction="sum")
loss = criterion(pred, target)
