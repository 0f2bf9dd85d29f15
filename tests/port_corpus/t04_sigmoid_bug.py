import torch
import torch.nn as nn

criterion = nn.BCEWithLogitsLoss()
loss = criterion(torch.sigmoid(out), y)  # double sigmoid
