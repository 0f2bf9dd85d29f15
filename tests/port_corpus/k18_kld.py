import keras

model.compile(optimizer="adam", loss="kl_divergence")
