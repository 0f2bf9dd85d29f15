import torch
import torch.nn as nn
import keras

criterion = keras.losses.BinaryCrossentropy(from_logits=True)
loss = criterion(y, out)  # double sigmoid
