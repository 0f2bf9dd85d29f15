# forum question: my loss is stuck at 2.30
import torch
import torch.nn.functional as F
import keras

criterion = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
for x, y in loader:
    loss = criterion(y, model(x))
