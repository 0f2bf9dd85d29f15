import keras
import lossbridge

# lossbridge port: the loss of the compile() below
criterion = lossbridge.to_torch_module(lossbridge.keras.KLDivergence())
model.compile(optimizer="adam", loss="kl_divergence")
