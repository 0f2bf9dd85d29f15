# forum question: my loss is stuck at 2.30
import torch
import torch.nn.functional as F

criterion = torch.nn.CrossEntropyLoss()
for x, y in loader:
    loss = criterion(F.softmax(model(x), dim=1), y)
