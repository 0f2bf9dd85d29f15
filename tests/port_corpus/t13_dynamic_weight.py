import torch.nn as nn

criterion = nn.CrossEntropyLoss(weight=class_weights)
loss = criterion(out, y)
