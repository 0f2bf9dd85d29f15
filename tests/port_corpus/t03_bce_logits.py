import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
loss = criterion(logits, targets.float())
