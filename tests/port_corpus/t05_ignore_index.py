import torch.nn as nn

criterion = nn.CrossEntropyLoss(ignore_index=0)
loss = criterion(logits.view(-1, vocab_size), targets.view(-1))
