from torch import nn

mse = nn.MSELoss()
loss = mse(model(x), y)
