import keras

loss_name = config["loss"]
model.compile(optimizer="adam", loss=loss_name)
