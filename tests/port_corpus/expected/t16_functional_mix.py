import torch
import torch.nn.functional as F
import keras
import lossbridge

for x, y, target, mask in loader:
    out = model(x)
    cls = lossbridge.to_keras_loss(lossbridge.torch.NLLLoss())(y, F.log_softmax(out, dim=1))
    reg = lossbridge.to_keras_loss(lossbridge.torch.MSELoss(reduction='sum'))(target, out)
    # forum question: why does my multi-label model not learn?
    tags = keras.losses.BinaryCrossentropy(from_logits=True)(mask, out)
    (cls + reg + tags).backward()
