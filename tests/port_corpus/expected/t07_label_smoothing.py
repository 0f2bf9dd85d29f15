import torch.nn as nn
import keras

criterion = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
loss = criterion(y, out)
