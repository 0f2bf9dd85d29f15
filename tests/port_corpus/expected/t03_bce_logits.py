import torch.nn as nn
import keras

criterion = keras.losses.BinaryCrossentropy(from_logits=True)
loss = criterion(targets.float(), logits)
