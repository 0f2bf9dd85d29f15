import torch.nn as nn
import keras

criterion = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
loss = criterion(targets.view(-1), logits.view(-1, vocab_size))
