import torch.nn as nn

criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
loss = criterion(out, y)
